// Per-test bookkeeping: servers and sockets started by a test are cleaned up
// when it ends (sockets disconnected first, then servers stopped), and when it
// fails the server logs and the client logs are printed.
//
//   scenario("name", async (h, { Socket }) => {
//     const server = await h.startServer();
//     const socket = h.track(new Socket(server.url, { transport: WebSocket }), "alice");
//     ...
//   });
//
// `scenario` declares the test once per client under test (support/clients.mjs);
// `e2e` declares a test that involves no client library (plain HTTP, raw ws).

import { test } from "node:test";
import { CLIENTS } from "./clients.mjs";
import { startServer } from "./server.mjs";
import { disconnect } from "./client.mjs";

const DEBUG = !!process.env.DEBUG;
// Lines of each log printed for a failed test (the full server log is on disk).
const DUMP_LINES = 300;

function formatValue(value) {
  if (value instanceof ArrayBuffer) {
    const bytes = new Uint8Array(value);
    const hex = Buffer.from(bytes.subarray(0, 32)).toString("hex");
    return `<ArrayBuffer ${bytes.length}B ${hex}${bytes.length > 32 ? "…" : ""}>`;
  }
  // ws's CloseEvent/ErrorEvent keep their fields in getters, invisible to JSON.
  if (value && typeof value === "object" && "code" in value && "wasClean" in value) {
    return `<close code=${value.code} reason=${JSON.stringify(value.reason)} wasClean=${value.wasClean}>`;
  }
  if (value && typeof value === "object" && value.type === "error" && "message" in value) {
    return `<error ${value.message}>`;
  }
  try {
    const text = JSON.stringify(value, (_key, v) => (v instanceof ArrayBuffer ? formatValue(v) : v));
    return text === undefined ? String(value) : text;
  } catch {
    return String(value);
  }
}

export class Harness {
  constructor(t, client = null) {
    this.t = t;
    /** The client module under test (see clients.mjs), or null. */
    this.client = client;
    this.startedAt = Date.now();
    this.servers = [];
    this.sockets = [];
    /** Client-side log lines (logger output of tracked sockets). */
    this.clientLines = [];
  }

  /** Starts a server (see server.mjs) that is stopped when the test ends. */
  async startServer(options = {}) {
    const server = await startServer({ ...options, label: options.label || this.t.name });
    this.servers.push(server);
    return server;
  }

  /**
   * Registers a `Socket` (of either client) for cleanup and logs its activity under
   * `label` (the logger is only installed if the test did not pass its own).
   * Returns the socket.
   */
  track(socket, label = `socket${this.sockets.length + 1}`) {
    if (!socket.logger) {
      socket.logger = (kind, msg, data) => {
        this.clientNote(label, `${kind}: ${msg}${data === undefined ? "" : " " + formatValue(data)}`);
      };
    }
    this.sockets.push(socket);
    return socket;
  }

  /** Adds a line to the client log (shown when the test fails). */
  clientNote(label, text) {
    const ms = String(Date.now() - this.startedAt).padStart(6);
    const line = `${ms}ms [${label}] ${text}`;
    this.clientLines.push(line);
    if (DEBUG) process.stderr.write(`client ${line}\n`);
  }

  async cleanup() {
    // Sockets first, so that they do not start reconnecting to a stopped server.
    await Promise.allSettled(this.sockets.map((socket) => disconnect(socket)));
    await Promise.allSettled(this.servers.map((server) => server.stop()));
    await Promise.allSettled(this.servers.map((server) => server.close()));
  }

  dump(err) {
    const out = [];
    out.push(`\n===== FAILED: ${this.t.name}: ${err && err.stack ? err.stack : err}`);
    for (const server of this.servers) {
      const lines = server.lines.slice(-DUMP_LINES);
      out.push(`----- server log ${server.logPath} (last ${lines.length} lines)`);
      out.push(...lines);
    }
    if (this.clientLines.length) {
      const lines = this.clientLines.slice(-DUMP_LINES);
      out.push(`----- client log (last ${lines.length} lines)`);
      out.push(...lines);
    }
    out.push("===== end of logs\n");
    process.stderr.write(out.join("\n") + "\n");
  }
}

/**
 * Declares a node:test test that receives a Harness. Cleanup runs in t.after,
 * so it also happens when the test fails or times out.
 */
export function e2e(name, fn, options = {}) {
  return harnessTest(name, null, fn, options);
}

/**
 * Declares the test once per client under test, named `<name> [<client>]`;
 * `fn(h, client, t)` receives the client module (`{name, Socket, LongPoll, …}`).
 */
export function scenario(name, fn, options = {}) {
  for (const client of CLIENTS) {
    harnessTest(`${name} [${client.name}]`, client, (h, t) => fn(h, client, t), options);
  }
}

function harnessTest(name, client, fn, options) {
  return test(name, options, async (t) => {
    const h = new Harness(t, client);
    t.after(() => h.cleanup());
    try {
      await fn(h, t);
    } catch (err) {
      h.dump(err);
      throw err;
    }
  });
}
