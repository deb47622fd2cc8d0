// Ordering over LongPoll, as over WebSocket: the sender of new_msg sees its
// own broadcast, and the pushes of one client reach another client in the
// order they were sent, whether they travel in one POST (100 lines, the most
// one request may carry) or are split by the client into several POSTs.

import assert from "node:assert/strict";
import { scenario } from "./support/harness.mjs";
import { collect, collectMessages, joinOk, open, reply } from "./support/client.mjs";
import { interceptFetch, longPollSocket, responseOf, watchSocket } from "./support/longpoll.mjs";
import { waitFor } from "./support/wait.mjs";

async function room(h, server, topic) {
  const clients = {};
  for (const name of ["alice", "bob"]) {
    const socket = longPollSocket(h, server, name);
    const events = watchSocket(socket);
    await open(socket);
    const channel = socket.channel(topic, { name });
    const received = collect(channel, "new_msg");
    await joinOk(channel);
    const messages = collectMessages(socket);
    clients[name] = { socket, channel, received, events, messages };
  }
  return clients;
}

async function sendInOneTick(h, server, http, count) {
  const topic = `room:order${count}`;
  const clients = await room(h, server, topic);
  const postsBefore = http.records.filter((r) => r.method === "POST" && r.client === "alice").length;

  // All pushes in one tick: the client batches them into POSTs of at most 100 lines.
  const pushes = [];
  for (let i = 0; i < count; i += 1) pushes.push(clients.alice.channel.push("new_msg", { body: `m${i}` }, 10_000));
  const replies = await Promise.all(pushes.map((push) => reply(push, { timeout: 10_000 })));
  assert.ok(replies.every((r) => r.status === "ok"), `every new_msg answered ok: ${JSON.stringify(replies.filter((r) => r.status !== "ok"))}`);

  const expected = Array.from({ length: count }, (_, i) => ({ body: `m${i}`, name: "alice" }));
  for (const name of ["bob", "alice"]) {
    const got = clients[name].received;
    await waitFor(() => got.length >= count, {
      timeout: 10_000,
      what: () => `${name} to receive ${count} new_msg (got ${got.length})`,
    });
    assert.deepEqual(got.map((m) => m.payload), expected, `${name} receives alice's messages in order, once each`);
  }

  // Per sender order on the sender's own connection: the room channel
  // broadcasts each message, then replies to its push.
  const senderSequence = clients.alice.messages
    .filter((m) => m.topic === topic && (m.event === "phx_reply" || m.event === "new_msg"))
    .map((m) => (m.event === "phx_reply" ? `reply ${m.ref}` : `${m.event} ${m.payload.body}`));
  assert.deepEqual(
    senderSequence,
    pushes.flatMap((push, i) => [`new_msg m${i}`, `reply ${push.ref}`]),
    "alice: broadcast m_i, then the reply to push i",
  );

  const posts = http.records.filter((r) => r.method === "POST" && r.client === "alice").slice(postsBefore);
  for (const name of ["alice", "bob"]) {
    assert.equal(clients[name].events.opens, 1, `${name}: one session`);
    assert.deepEqual(clients[name].events.closes, [], `${name}: no close`);
  }
  return posts;
}

scenario("LongPoll: 100 new_msg in one POST reach the other client and the sender in order", async (h, _client, t) => {
  const http = interceptFetch(t);
  const server = await h.startServer();
  const posts = await sendInOneTick(h, server, http, 100);
  assert.equal(posts.length, 1, "100 lines fit one POST");
  assert.equal(posts[0].body.split("\n").length, 100);
  assert.deepEqual(await responseOf(posts[0]), { status: 200 });
});

scenario("LongPoll: 250 new_msg split over three POSTs keep their order", async (h, _client, t) => {
  const http = interceptFetch(t);
  const server = await h.startServer();
  const posts = await sendInOneTick(h, server, http, 250);
  assert.deepEqual(posts.map((p) => p.body.split("\n").length), [100, 100, 50]);
  assert.deepEqual(await Promise.all(posts.map((p) => responseOf(p))), posts.map(() => ({ status: 200 })));
});
