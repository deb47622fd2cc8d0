// Disconnect by socket id over LongPoll: a `disconnect` broadcast on
// `user_socket:<id>` (the demo's socket id for a `user_id` param) ends that
// user's LongPoll session. Its pending poll is answered 410, the client
// reports the session gone, opens a new session and rejoins. Other users'
// sessions are untouched, and the new session answers to the socket id too.

import assert from "node:assert/strict";
import { scenario } from "./support/harness.mjs";
import { open, postBroadcast, replyOk } from "./support/client.mjs";
import { interceptFetch, joinRecorded, longPollSocket, waitJoined, watchSocket } from "./support/longpoll.mjs";
import { waitFor } from "./support/wait.mjs";

scenario("LongPoll: disconnect on user_socket:<id> ends the session; the client reconnects and rejoins", async (h, _client, t) => {
  const http = interceptFetch(t);
  const server = await h.startServer();
  const users = {};
  for (const [name, userId] of [["alice", "u1"], ["bob", "u2"]]) {
    const socket = longPollSocket(h, server, name, { params: { user_id: userId } });
    const events = watchSocket(socket);
    await open(socket);
    const channel = socket.channel("room:users", { name });
    const joinOks = joinRecorded(channel);
    await waitJoined(channel, joinOks, 1);
    users[name] = { socket, events, channel, joinOks, token: socket.conn.token };
  }
  const alice = users.alice;

  for (let round = 1; round <= 2; round += 1) {
    const token = alice.socket.conn.token;
    await postBroadcast(server.httpUrl, { topic: "user_socket:u1", event: "disconnect", payload: {} });

    // The poll held for the session is answered 410.
    const ended = await waitFor(
      () => http.records.find((r) => r.client === "alice" && r.method === "GET" && r.token === token && r.status === 410),
      { what: `round ${round}: alice's poll to be answered 410` },
    );
    // (Answered {"status":410} if the poll was held when the session ended, or
    // 410 with a fresh token if it came just after: both mean "session gone".)
    assert.notEqual(ended.response.token, token);
    await waitFor(() => alice.events.opens >= round + 1 && alice.socket.isConnected(), {
      what: () => `round ${round}: alice's new session (opens=${alice.events.opens})`,
    });
    assert.deepEqual(alice.events.closes[round - 1], { code: 3410, reason: "session_gone", wasClean: false });
    assert.equal(alice.events.errors[round - 1], 410);
    assert.notEqual(alice.socket.conn.token, token);

    await waitJoined(alice.channel, alice.joinOks, round + 1);
    assert.deepEqual(await replyOk(alice.channel.push("ping", { round })), { round });
  }

  // bob (user u2) kept his session throughout.
  const bob = users.bob;
  assert.equal(bob.socket.conn.token, bob.token);
  assert.equal(bob.events.opens, 1);
  assert.deepEqual(bob.events.closes, []);
  assert.equal(bob.joinOks.length, 1);
  assert.deepEqual(await replyOk(bob.channel.push("ping", { bob: true })), { bob: true });
});
