// Fallback, configured as phoenix.js apps do: `transport: WebSocket` with
// `longPollFallbackMs` (both clients). Against a server started with --no-websocket (no
// WebSocket route: the upgrade gets HTTP 404) the WebSocket attempt fails
// before opening and the client switches to LongPoll at once; join and push
// then work over LongPoll.
//
// A fallback is remembered in `sessionStorage` (key "phx:fallback:LongPoll"),
// looked up as `opts.sessionStorage || globalThis.sessionStorage`. Node 20
// has no sessionStorage; every use is guarded, so the clients work without
// one and simply remember nothing. The second test passes a minimal in-memory store
// (the documented `sessionStorage` option) to check the memorised path.

import assert from "node:assert/strict";
import WebSocket from "ws";
import { e2e, scenario } from "./support/harness.mjs";
import { joinOk, open, reply } from "./support/client.mjs";
import { interceptFetch, watchSocket } from "./support/longpoll.mjs";
import { waitFor } from "./support/wait.mjs";

const FALLBACK_KEY = "phx:fallback:LongPoll";

/** A Storage-like object kept in memory (the clients use getItem/setItem only). */
class MemoryStorage {
  constructor() {
    this.items = new Map();
  }
  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }
  setItem(key, value) {
    this.items.set(key, String(value));
  }
  removeItem(key) {
    this.items.delete(key);
  }
}

/** The `ws` WebSocket, counting the connection attempts made with it. */
function countingWebSocket() {
  class CountingWebSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      CountingWebSocket.attempts += 1;
    }
  }
  CountingWebSocket.attempts = 0;
  return CountingWebSocket;
}

async function joinAndPing(socket) {
  const channel = socket.channel("room:fallback", { name: "alice" });
  await joinOk(channel);
  assert.deepEqual(await reply(channel.push("ping", { over: "longpoll" })), { status: "ok", response: { over: "longpoll" } });
  return channel;
}

e2e("--no-websocket: the WebSocket upgrade is refused with HTTP 404", async (h) => {
  const server = await h.startServer({ args: ["--no-websocket"] });
  const ws = new WebSocket(`${server.url}/websocket?vsn=2.0.0`);
  const status = await waitFor(
    new Promise((resolve) => {
      ws.on("unexpected-response", (_req, res) => {
        resolve(res.statusCode);
        res.resume();
        ws.terminate();
      });
      ws.on("open", () => resolve("opened"));
      ws.on("error", () => {});
    }),
    { what: "the answer to the WebSocket upgrade" },
  );
  assert.equal(status, 404);
});

scenario("longPollFallbackMs: falls back to LongPoll when the WebSocket is refused (no sessionStorage)", async (h, { Socket, LongPoll }, t) => {
  assert.equal(typeof globalThis.sessionStorage, "undefined", "Node 20 has no sessionStorage");
  const http = interceptFetch(t);
  const server = await h.startServer({ args: ["--no-websocket"] });
  const CountingWebSocket = countingWebSocket();
  // A threshold far beyond the open() deadline: opening in time proves the
  // switch came from the refused upgrade, not from the timer.
  const socket = h.track(new Socket(server.url, { transport: CountingWebSocket, longPollFallbackMs: 60_000 }), "alice");
  const events = watchSocket(socket);
  assert.equal(socket.sessionStore, undefined, "no store to remember the fallback in");

  await open(socket, { timeout: 5000 });

  assert.equal(socket.transport, LongPoll, "socket.transport after the fallback");
  assert.ok(socket.conn instanceof LongPoll, "the connection is a LongPoll");
  assert.equal(CountingWebSocket.attempts, 1, "one WebSocket attempt");
  assert.equal(events.opens, 1, "only the LongPoll connection opened");
  assert.ok(events.errors.length >= 1, "the WebSocket attempt reported an error");
  assert.match(String(events.errors[0] && events.errors[0].message), /404/, "the error: the refused upgrade");
  assert.equal(http.records[0].method, "GET");
  assert.equal(new URL(http.records[0].url).pathname, "/socket/longpoll");

  await joinAndPing(socket);
  assert.equal(socket.conn.constructor, LongPoll);
  assert.equal(events.opens, 1);
});

scenario("longPollFallbackMs: with a sessionStorage the fallback is remembered and reused", async (h, { Socket, LongPoll }) => {
  const server = await h.startServer({ args: ["--no-websocket"] });
  const storage = new MemoryStorage();
  const CountingWebSocket = countingWebSocket();

  const first = h.track(
    new Socket(server.url, { transport: CountingWebSocket, longPollFallbackMs: 300, sessionStorage: storage }),
    "first",
  );
  await open(first);
  assert.ok(first.conn instanceof LongPoll);
  await waitFor(() => storage.getItem(FALLBACK_KEY) === "true", { what: `${FALLBACK_KEY} stored` });
  assert.equal(CountingWebSocket.attempts, 1);

  // A later socket of the same "tab" goes to LongPoll without trying WebSocket.
  const second = h.track(
    new Socket(server.url, { transport: CountingWebSocket, longPollFallbackMs: 300, sessionStorage: storage }),
    "second",
  );
  const events = watchSocket(second);
  await open(second);
  assert.equal(second.transport, LongPoll);
  assert.ok(second.conn instanceof LongPoll);
  assert.equal(CountingWebSocket.attempts, 1, "no second WebSocket attempt");
  assert.deepEqual(events.errors, []);
  await joinAndPing(second);
});

scenario("longPollFallbackMs: a server with WebSocket passes the ping check and stays on WebSocket", async (h, { Socket }) => {
  const server = await h.startServer();
  const storage = new MemoryStorage();
  const socket = h.track(
    new Socket(server.url, { transport: WebSocket, longPollFallbackMs: 300, sessionStorage: storage }),
    "alice",
  );
  const events = watchSocket(socket);
  await open(socket);
  // After opening, the client pings and falls back unless the reply comes within 300 ms.
  await waitFor(() => socket.primaryPassedHealthCheck, { timeout: 2000, what: "the WebSocket ping check" });
  assert.equal(socket.transport, WebSocket);
  assert.ok(socket.conn instanceof WebSocket);
  assert.equal(storage.getItem(FALLBACK_KEY), null, "nothing remembered");

  const channel = socket.channel("room:fallback", { name: "alice" });
  await joinOk(channel);
  assert.deepEqual(await reply(channel.push("ping", { over: "websocket" })), { status: "ok", response: { over: "websocket" } });
  assert.ok(socket.conn instanceof WebSocket);
  assert.equal(events.opens, 1);
  assert.deepEqual(events.closes, []);
});
