// Helpers of the unit tests: fixtures, hex, and a fake transport that records
// what the socket sends and lets a test play the server.

import { readFileSync } from "node:fs";

/** A JSON file from test/fixtures. */
export function fixture(name) {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));
}

export function hexToBuffer(hex) {
  return Uint8Array.from(hex.match(/../g) || [], (byte) => parseInt(byte, 16)).buffer;
}

export function bufferToHex(buffer) {
  return Buffer.from(new Uint8Array(buffer)).toString("hex");
}

/**
 * A transport class for `new Socket(url, {transport})`. Every instance is
 * recorded in `Transport.instances`; a test opens it, feeds it server frames
 * and reads the frames the socket sent (V2 text frames, parsed).
 */
export function fakeTransport() {
  class FakeTransport {
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.readyState = 0;
      this.sent = [];
      this.closeCalls = [];
      FakeTransport.instances.push(this);
    }
    send(frame) {
      if (this.readyState !== 1) throw new Error("send on a transport that is not open");
      this.sent.push(frame);
    }
    close(code, reason) {
      this.closeCalls.push({ code, reason });
      this.readyState = 3;
      this.onclose({ code: code ?? 1005, reason: reason ?? "", wasClean: true });
    }
    // --- the server's side
    open() {
      this.readyState = 1;
      this.onopen();
    }
    /** The server went away. */
    drop(code = 1006) {
      this.readyState = 3;
      this.onclose({ code, reason: "", wasClean: false });
    }
    /** Delivers a server frame `[join_ref, ref, topic, event, payload]`. */
    receive(frame) {
      this.onmessage({ data: JSON.stringify(frame) });
    }
    /** Replies to the sent frame `frame` with `status` and `response`. */
    reply(frame, status = "ok", response = {}) {
      const [joinRef, ref, topic] = frame;
      this.receive([joinRef, ref, topic, "phx_reply", { status, response }]);
    }
    /** Sent text frames, parsed. */
    frames() {
      return this.sent.filter((f) => typeof f === "string").map((f) => JSON.parse(f));
    }
    /** Sent frames of `event` (parsed). */
    framesOf(event) {
      return this.frames().filter((f) => f[3] === event);
    }
  }
  FakeTransport.instances = [];
  Object.defineProperty(FakeTransport, "last", { get: () => FakeTransport.instances.at(-1) });
  return FakeTransport;
}
