// Channel and Socket behaviour over a fake transport, with mocked timers:
// refs, buffering until joined, join timeout, rejoin with backoff, stale
// join_refs, reconnect.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Socket } from "../src/embercast.js";
import { fakeTransport } from "./support.js";

/** A socket over a fresh fake transport, with mocked timers and fixed backoffs. */
function setup(t, opts = {}) {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"] });
  const Transport = fakeTransport();
  const socket = new Socket("ws://example.test/socket", {
    transport: Transport,
    reconnectAfterMs: (tries) => 100 * tries,
    rejoinAfterMs: (tries) => 1000 * tries,
    ...opts,
  });
  return { socket, Transport, tick: (ms) => t.mock.timers.tick(ms) };
}

/** `setup`, then connects and opens the transport. */
function opened(t, opts) {
  const env = setup(t, opts);
  env.socket.connect();
  env.Transport.last.open();
  return env;
}

/** Connects, opens, joins `topic` and answers the join ok. */
function joined(socket, Transport, topic = "room:lobby", params = {}) {
  socket.connect();
  Transport.last.open();
  const channel = socket.channel(topic, params);
  const join = channel.join();
  Transport.last.reply(Transport.last.framesOf("phx_join").at(-1));
  assert.equal(channel.state, "joined");
  return { channel, join };
}

test("the first join has ref 3 (two refs go to the channel's socket callbacks) and join_ref == ref", (t) => {
  const { socket, Transport } = opened(t);
  const channel = socket.channel("room:lobby", { name: "bob" });
  channel.join();
  assert.deepEqual(Transport.last.frames(), [["3", "3", "room:lobby", "phx_join", { name: "bob" }]]);
  Transport.last.reply(["3", "3", "room:lobby"]);
  channel.push("new_msg", { body: "hi" });
  assert.deepEqual(Transport.last.frames()[1], ["3", "4", "room:lobby", "new_msg", { body: "hi" }]);
});

test("params and authToken given as functions are evaluated on every connect", (t) => {
  let paramsCalls = 0;
  let tokenCalls = 0;
  const { socket, Transport, tick } = setup(t, {
    params: () => ({ token: `t${++paramsCalls}`, user: { id: 7 } }),
    authToken: () => `secret-${++tokenCalls}`,
  });
  socket.connect();
  assert.equal(Transport.last.url, "ws://example.test/socket/websocket?token=t1&user%5Bid%5D=7&vsn=2.0.0");
  assert.deepEqual(Transport.last.protocols, ["phoenix", `base64url.bearer.phx.${btoa("secret-1").replace(/=/g, "")}`]);
  Transport.last.open();
  Transport.last.drop();
  tick(100);
  assert.equal(Transport.instances.length, 2);
  assert.match(Transport.last.url, /\?token=t2&/);
  assert.deepEqual(Transport.last.protocols[1], `base64url.bearer.phx.${btoa("secret-2").replace(/=/g, "")}`);
});

test("pushes made before the join completes are sent after the join ok, in order", (t) => {
  const { socket, Transport } = setup(t);
  socket.connect();
  const channel = socket.channel("room:lobby");
  const join = channel.join(); // buffered in the socket until the transport opens
  const first = channel.push("a", { n: 1 });
  const second = channel.push("b", { n: 2 });
  Transport.last.open();
  assert.deepEqual(Transport.last.frames().map((f) => f[3]), ["phx_join"], "only the join goes out before the join ok");
  Transport.last.reply(Transport.last.framesOf("phx_join")[0]);
  const frames = Transport.last.frames();
  assert.deepEqual(frames.map((f) => [f[3], f[4]]), [["phx_join", {}], ["a", { n: 1 }], ["b", { n: 2 }]]);
  assert.ok(frames.slice(1).every((f) => f[0] === join.ref), "buffered pushes carry the join's join_ref");
  const replies = [];
  first.receive("ok", (r) => replies.push(["first", r]));
  second.receive("ok", (r) => replies.push(["second", r]));
  Transport.last.reply(frames[2], "ok", { b: true });
  Transport.last.reply(frames[1], "ok", { a: true });
  assert.deepEqual(replies, [["second", { b: true }], ["first", { a: true }]], "replies matched by ref");
});

test("a buffered push times out while it waits and is then never sent", (t) => {
  const { socket, Transport, tick } = opened(t);
  const channel = socket.channel("room:lobby");
  channel.join(5000);
  const timeouts = [];
  channel.push("late", {}, 500).receive("timeout", () => timeouts.push("late"));
  tick(500);
  assert.deepEqual(timeouts, ["late"]);
  Transport.last.reply(Transport.last.framesOf("phx_join")[0]);
  assert.deepEqual(Transport.last.framesOf("late"), []);
});

test("join timeout: phx_leave for that join, errored, rejoin after backoff with a new join_ref", (t) => {
  const { socket, Transport, tick } = opened(t);
  const channel = socket.channel("room:slow");
  const timeouts = [];
  channel.join(2000).receive("timeout", () => timeouts.push(channel.state));
  const [firstJoin] = Transport.last.framesOf("phx_join");
  tick(2000);
  assert.deepEqual(timeouts, ["errored"]);
  const [leave] = Transport.last.framesOf("phx_leave");
  assert.equal(leave[0], firstJoin[1], "the leave names the timed-out join");
  tick(999);
  assert.equal(Transport.last.framesOf("phx_join").length, 1);
  tick(1);
  const second = Transport.last.framesOf("phx_join")[1];
  assert.ok(second, "rejoined after rejoinAfterMs(1)");
  assert.notEqual(second[1], firstJoin[1]);
  assert.equal(second[0], second[1]);
  Transport.last.reply(second);
  assert.equal(channel.state, "joined");
});

test("an error reply to the join: rejoin with growing backoff until ok", (t) => {
  const { socket, Transport, tick } = opened(t);
  const channel = socket.channel("room:locked");
  const errors = [];
  channel.join().receive("error", (r) => errors.push(r));
  const answer = (status) => Transport.last.reply(Transport.last.framesOf("phx_join").at(-1), status, { reason: "no" });
  answer("error");
  assert.equal(channel.state, "errored");
  tick(1000);
  answer("error");
  tick(1999);
  assert.equal(Transport.last.framesOf("phx_join").length, 2, "second retry waits rejoinAfterMs(2)");
  tick(1);
  answer("ok");
  assert.equal(channel.state, "joined");
  assert.equal(errors.length, 2);
});

test("messages with the join_ref of an older join are dropped; broadcasts (null join_ref) are delivered", (t) => {
  const { socket, Transport, tick } = setup(t);
  const { channel, join } = joined(socket, Transport);
  const oldJoinRef = join.ref;
  const seen = [];
  channel.on("news", (payload, ref, joinRef) => seen.push([payload.n, joinRef]));
  Transport.last.receive([null, "1", "phoenix", "phx_reply", { status: "ok", response: {} }]);

  // The server crashes the channel; the client rejoins with a new join_ref.
  Transport.last.receive([oldJoinRef, oldJoinRef, "room:lobby", "phx_error", { reason: "channel_crash" }]);
  assert.equal(channel.state, "errored");
  tick(1000);
  const rejoin = Transport.last.framesOf("phx_join").at(-1);
  Transport.last.reply(rejoin);
  assert.notEqual(channel.joinRef(), oldJoinRef);

  Transport.last.receive([oldJoinRef, null, "room:lobby", "news", { n: 1 }]); // stale push
  Transport.last.receive([oldJoinRef, oldJoinRef, "room:lobby", "phx_close", {}]); // stale close
  Transport.last.receive([null, null, "room:lobby", "news", { n: 2 }]); // broadcast
  Transport.last.receive([channel.joinRef(), null, "room:lobby", "news", { n: 3 }]); // current push
  Transport.last.receive([null, null, "room:other", "news", { n: 4 }]); // other topic
  assert.deepEqual(seen, [[2, channel.joinRef()], [3, channel.joinRef()]]);
  assert.equal(channel.state, "joined", "the stale phx_close did not close the channel");
});

test("phx_close closes the channel for good; phx_error makes it rejoin", (t) => {
  const { socket, Transport, tick } = setup(t);
  const { channel } = joined(socket, Transport);
  const errors = [];
  const closes = [];
  channel.onError((reason) => errors.push(reason));
  channel.onClose((reason) => closes.push(reason));
  Transport.last.receive([channel.joinRef(), channel.joinRef(), "room:lobby", "phx_error", { reason: "channel_crash" }]);
  assert.deepEqual(errors, [{ reason: "channel_crash" }]);
  tick(1000);
  Transport.last.reply(Transport.last.framesOf("phx_join").at(-1));
  Transport.last.receive([channel.joinRef(), channel.joinRef(), "room:lobby", "phx_close", {}]);
  assert.equal(closes.length, 1);
  assert.equal(channel.state, "closed");
  assert.deepEqual(socket.channels, []);
  tick(60_000);
  assert.equal(Transport.last.framesOf("phx_join").length, 2, "no rejoin after phx_close");
});

test("leave closes the channel at once and removes it from the socket", (t) => {
  const { socket, Transport } = setup(t);
  const { channel } = joined(socket, Transport);
  const closes = [];
  channel.onClose((reason) => closes.push(reason));
  channel.leave();
  assert.equal(channel.state, "closed");
  assert.deepEqual(closes, ["leave"]);
  assert.deepEqual(socket.channels, []);
  assert.equal(Transport.last.framesOf("phx_leave").length, 1);
});

test("a second Channel object on a joined topic makes the first one leave", (t) => {
  const { socket, Transport } = setup(t);
  const { channel: first } = joined(socket, Transport);
  const second = socket.channel("room:lobby");
  second.join();
  assert.equal(first.state, "closed");
  assert.deepEqual(Transport.last.frames().map((f) => f[3]), ["phx_join", "phx_leave", "phx_join"]);
});

test("push before join and a second join throw", (t) => {
  const { socket } = setup(t);
  const channel = socket.channel("room:lobby");
  assert.throws(() => channel.push("x", {}), /before joining/);
  channel.join();
  assert.throws(() => channel.join(), /multiple times/);
});

test("connection lost: channels errored, reconnect with backoff, rejoin with new join_refs", (t) => {
  const { socket, Transport, tick } = setup(t);
  const { channel } = joined(socket, Transport);
  const errors = [];
  channel.onError((reason) => errors.push(reason));
  const closes = [];
  socket.onClose((event) => closes.push(event.code));
  Transport.last.drop(1006);
  assert.deepEqual(closes, [1006]);
  assert.deepEqual(errors, [{ source: "transport", reason: "connection_closed" }]);
  assert.equal(socket.isConnected(), false);

  // The first attempt fails too: the second waits reconnectAfterMs(2).
  tick(100);
  assert.equal(Transport.instances.length, 2);
  Transport.last.drop(1006);
  tick(199);
  assert.equal(Transport.instances.length, 2);
  tick(1);
  assert.equal(Transport.instances.length, 3);

  // Pushed while disconnected: waits in the channel until the rejoin.
  const push = channel.push("after", { n: 1 });
  Transport.last.open();
  const frames = Transport.last.frames();
  assert.deepEqual(frames.map((f) => f[3]), ["phx_join"], "the rejoin goes first");
  Transport.last.reply(frames[0]);
  assert.deepEqual(Transport.last.frames().map((f) => f[3]), ["phx_join", "after"]);
  assert.equal(Transport.last.frames()[1][0], frames[0][1], "the push carries the new join_ref");
  assert.equal(push.ref, Transport.last.frames()[1][1]);
});

test("frames of a join that failed while disconnected are dropped, not sent on reconnect", (t) => {
  const { socket, Transport, tick } = setup(t);
  socket.connect();
  const channel = socket.channel("room:lobby");
  channel.join(); // buffered: the transport is not open yet
  Transport.last.drop(1006); // the attempt fails: the channel errors
  assert.equal(channel.state, "errored");
  tick(100);
  Transport.last.open();
  const joins = Transport.last.framesOf("phx_join");
  assert.equal(joins.length, 1, `one join on the new connection, got ${JSON.stringify(joins)}`);
  assert.equal(joins[0][0], channel.joinRef(), "the current join");
});

test("disconnect: close callbacks, no reconnect; connect again works at once", (t) => {
  const { socket, Transport, tick } = setup(t);
  joined(socket, Transport);
  const done = [];
  socket.disconnect(() => done.push("disconnected"), 1000, "bye");
  assert.deepEqual(Transport.last.closeCalls, [{ code: 1000, reason: "bye" }]);
  tick(60_000);
  assert.deepEqual(done, ["disconnected"]);
  assert.equal(Transport.instances.length, 1, "no reconnect");
  socket.connect();
  assert.equal(Transport.instances.length, 2);
});

test("heartbeats: answered ones keep the connection; an unanswered one closes and reconnects", (t) => {
  const { socket, Transport, tick } = setup(t, { heartbeatIntervalMs: 1000 });
  const { channel } = joined(socket, Transport);
  const errors = [];
  channel.onError((reason) => errors.push(reason));
  tick(1000);
  const [beat] = Transport.last.framesOf("heartbeat");
  assert.deepEqual(beat, [null, beat[1], "phoenix", "heartbeat", {}]);
  Transport.last.reply(beat);
  tick(1000);
  assert.equal(Transport.last.framesOf("heartbeat").length, 2);
  tick(1000); // unanswered
  assert.deepEqual(Transport.instances[0].closeCalls, [{ code: 1000, reason: "heartbeat timeout" }]);
  assert.deepEqual(errors, [{ source: "transport", reason: "heartbeat_timeout" }]);
  tick(100);
  assert.equal(Transport.instances.length, 2, "reconnected");
  Transport.last.open();
  assert.equal(Transport.last.framesOf("phx_join").length, 1, "rejoined on the new connection");
});

test("ping measures a heartbeat round trip", (t) => {
  const { socket, Transport, tick } = setup(t);
  assert.equal(socket.ping(() => {}), false, "not connected");
  socket.connect();
  Transport.last.open();
  const rtts = [];
  assert.equal(socket.ping((rtt) => rtts.push(rtt)), true);
  tick(42);
  Transport.last.reply(Transport.last.framesOf("heartbeat")[0]);
  assert.deepEqual(rtts, [42]);
});

test("endPointURL: nested params in bracket form, relative endpoints completed from location", (t) => {
  const { socket } = setup(t, { params: { a: "x y", user: { id: 7, tags: { k: "v" } }, skip: null } });
  assert.equal(socket.endPointURL(), "ws://example.test/socket/websocket?a=x%20y&user%5Bid%5D=7&user%5Btags%5D%5Bk%5D=v&vsn=2.0.0");
  globalThis.location = { protocol: "https:", host: "app.test:8443" };
  t.after(() => delete globalThis.location);
  assert.equal(new Socket("/socket").endPointURL(), "wss://app.test:8443/socket/websocket?vsn=2.0.0");
  assert.equal(new Socket("//other.test/socket").endPointURL(), "wss://other.test/socket/websocket?vsn=2.0.0");
});

test("browser page: no reconnect while hidden, one at once when visible; pagehide/pageshow leave and come back", (t) => {
  const win = new EventTarget();
  const doc = new EventTarget();
  doc.visibilityState = "visible";
  globalThis.window = win;
  globalThis.document = doc;
  t.after(() => {
    delete globalThis.window;
    delete globalThis.document;
  });
  const { socket, Transport, tick } = opened(t);
  const setVisibility = (state) => {
    doc.visibilityState = state;
    doc.dispatchEvent(new Event("visibilitychange"));
  };

  setVisibility("hidden");
  Transport.last.drop();
  tick(60_000);
  assert.equal(Transport.instances.length, 1, "no reconnect while hidden");
  setVisibility("visible");
  assert.equal(Transport.instances.length, 2, "reconnects as soon as visible");
  Transport.last.open();

  win.dispatchEvent(new Event("pagehide"));
  assert.equal(socket.isConnected(), false);
  tick(60_000);
  assert.equal(Transport.instances.length, 2, "a page in the back/forward cache stays disconnected");
  win.dispatchEvent(new Event("pageshow"));
  assert.equal(Transport.instances.length, 3, "back from the cache: connected again");
});
