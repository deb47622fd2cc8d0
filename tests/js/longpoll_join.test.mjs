// Joining over LongPoll (transport: LongPoll): the client opens a session with
// a GET on /socket/longpoll, sends its frames as ndjson POSTs and receives the
// replies from its polls. Join ok for a routed topic, error for an unmatched one.

import assert from "node:assert/strict";
import { scenario } from "./support/harness.mjs";
import { open, reply } from "./support/client.mjs";
import { interceptFetch, longPollSocket, responseOf, watchSocket } from "./support/longpoll.mjs";

scenario("LongPoll: session opens, join room:lobby is answered ok", async (h, { LongPoll }, t) => {
  const http = interceptFetch(t);
  const server = await h.startServer();
  const socket = longPollSocket(h, server, "alice");
  const events = watchSocket(socket);

  await open(socket);
  assert.ok(socket.conn instanceof LongPoll, "the connection is a LongPoll");
  assert.equal(socket.isConnected(), true);

  // The session was opened by a GET without a session token, answered 410 with one.
  const first = http.records[0];
  assert.equal(first.method, "GET");
  assert.equal(new URL(first.url).pathname, "/socket/longpoll");
  assert.equal(new URL(first.url).searchParams.get("vsn"), "2.0.0");
  assert.equal(first.token, null);
  assert.equal(first.status, 410);
  assert.equal(typeof first.response.token, "string");
  assert.ok(first.response.token.length > 0);
  assert.deepEqual(first.response.messages, []);
  const token = first.response.token;
  assert.equal(socket.conn.token, token);

  const channel = socket.channel("room:lobby", { name: "alice" });
  const { status, response } = await reply(channel.join());
  assert.equal(status, "ok", `join reply: ${JSON.stringify(response)}`);
  assert.equal(channel.state, "joined");

  // The join went out as one ndjson line carrying the session token, and was answered {"status":200}.
  const posts = http.records.filter((r) => r.method === "POST");
  assert.equal(posts.length, 1, `POSTs: ${JSON.stringify(posts.map((p) => p.body))}`);
  assert.equal(posts[0].token, token);
  assert.equal(posts[0].contentType, "application/x-ndjson");
  assert.deepEqual(JSON.parse(posts[0].body), [channel.joinRef(), channel.joinRef(), "room:lobby", "phx_join", { name: "alice" }]);
  assert.deepEqual(await responseOf(posts[0]), { status: 200 });

  // The reply came from a poll with the same token, as a JSON string per frame.
  const delivering = http.records.find((r) => r.method === "GET" && r.status === 200);
  assert.ok(delivering, "a poll answered 200");
  assert.equal(delivering.token, token);
  assert.equal(delivering.response.token, token);
  const [joinReply, ...after] = delivering.response.messages.map((m) => JSON.parse(m));
  assert.deepEqual(joinReply, [channel.joinRef(), channel.joinRef(), "room:lobby", "phx_reply", { status: "ok", response: {} }]);
  // What may follow in the same poll: the room's own pushes after the join (presence).
  assert.deepEqual(
    after.map(([, ref, topic, event]) => [ref, topic, event]),
    after.map(([, , , event]) => [null, "room:lobby", event]),
    "only pushes and broadcasts of the room follow the reply",
  );

  assert.equal(events.opens, 1);
  assert.deepEqual(events.closes, []);
  assert.deepEqual(events.errors, []);
});

scenario("LongPoll: join on an unmatched topic is answered error {reason: 'unmatched topic'}", async (h, { LongPoll }) => {
  const server = await h.startServer();
  const socket = longPollSocket(h, server, "alice");
  const events = watchSocket(socket);
  await open(socket);
  const channel = socket.channel("nope:1", {});

  const { status, response } = await reply(channel.join());

  assert.equal(status, "error");
  assert.deepEqual(response, { reason: "unmatched topic" });
  assert.equal(channel.state, "errored");
  channel.leave();

  // The session is unaffected: another channel joins over it.
  const room = socket.channel("room:lobby", { name: "alice" });
  assert.equal((await reply(room.join())).status, "ok");
  assert.equal(events.opens, 1);
  assert.deepEqual(events.closes, []);
});

scenario("LongPoll: an app `token` param does not shadow the session token", async (h, { LongPoll }, t) => {
  // The 1.8 client appends `&token=<session>` after the app's params, so the
  // URL carries two `token` keys; the session's is the last one.
  const http = interceptFetch(t);
  const server = await h.startServer();
  const socket = longPollSocket(h, server, "alice", { params: { token: "user-abc" } });
  const events = watchSocket(socket);
  await open(socket);

  const channel = socket.channel("room:lobby", { name: "alice" });
  assert.equal((await reply(channel.join())).status, "ok");
  assert.deepEqual((await reply(channel.push("ping", { n: 1 }))).response, { n: 1 });

  const sessionToken = socket.conn.token;
  const [first, ...later] = http.records;
  assert.deepEqual(new URL(first.url).searchParams.getAll("token"), ["user-abc"], "first GET: the app's token only");
  assert.equal(first.status, 410);
  assert.ok(later.length >= 2);
  for (const r of later) {
    assert.deepEqual(new URL(r.url).searchParams.getAll("token"), ["user-abc", sessionToken], r.url);
  }
  assert.equal(events.opens, 1, "one session only");
  assert.deepEqual(events.closes, []);
});
