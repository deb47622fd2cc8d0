// Binary payloads: an ArrayBuffer pushed on echo:* is sent as a V2 binary
// push frame and comes back as a binary reply, i.e. an ArrayBuffer response.

import assert from "node:assert/strict";
import WebSocket from "ws";
import { scenario } from "./support/harness.mjs";
import { joinOk, open, replyOk } from "./support/client.mjs";

function bytesOf(buffer) {
  assert.ok(buffer instanceof ArrayBuffer, `expected an ArrayBuffer, got ${Object.prototype.toString.call(buffer)}: ${JSON.stringify(buffer)}`);
  return new Uint8Array(buffer);
}

scenario("an ArrayBuffer pushed on echo:bin comes back as an ArrayBuffer reply", async (h, { Socket }) => {
  const server = await h.startServer();
  const socket = h.track(new Socket(server.url, { transport: WebSocket }));
  await open(socket);
  const channel = socket.channel("echo:bin", {});
  await joinOk(channel);

  const response = await replyOk(channel.push("blob", new Uint8Array([1, 2, 3, 255]).buffer));
  assert.deepEqual(bytesOf(response), new Uint8Array([1, 2, 3, 255]));
});

scenario("binary echo keeps empty and large payloads intact", async (h, { Socket }) => {
  const server = await h.startServer();
  const socket = h.track(new Socket(server.url, { transport: WebSocket }));
  await open(socket);
  const channel = socket.channel("echo:bin", {});
  await joinOk(channel);

  const empty = await replyOk(channel.push("blob", new ArrayBuffer(0)));
  assert.equal(bytesOf(empty).length, 0);

  // Larger than 65535 bytes (64-bit WebSocket length), every byte value present.
  const big = new Uint8Array(70_000).map((_, i) => (i * 7) % 256);
  const echoed = await replyOk(channel.push("blob", big.buffer));
  assert.deepEqual(bytesOf(echoed), big);

  // JSON and binary pushes interleave on the same channel.
  const json = await replyOk(channel.push("anything", { a: [1, 2, { b: null }] }));
  assert.deepEqual(json, { a: [1, 2, { b: null }] });
  const again = await replyOk(channel.push("blob", new Uint8Array([0, 0xfe, 0xff]).buffer));
  assert.deepEqual(bytesOf(again), new Uint8Array([0, 0xfe, 0xff]));
});
