// A push with a reply: `ping` on room:* replies ok with the pushed payload.

import assert from "node:assert/strict";
import WebSocket from "ws";
import { scenario } from "./support/harness.mjs";
import { collectMessages, joinOk, open, reply } from "./support/client.mjs";

scenario("ping on room:lobby replies ok with the same payload", async (h, { Socket }) => {
  const server = await h.startServer();
  const socket = h.track(new Socket(server.url, { transport: WebSocket }));
  await open(socket);
  const channel = socket.channel("room:lobby", { name: "alice" });
  await joinOk(channel);

  const payload = { n: 1, s: "x", nested: { list: [1, 2.5, { b: null }], t: true }, u: "ünïcødé ✓" };
  const first = await reply(channel.push("ping", payload));
  assert.deepEqual(first, { status: "ok", response: payload });

  // A second push gets its own reply (matched by ref).
  const second = await reply(channel.push("ping", { again: true }));
  assert.deepEqual(second, { status: "ok", response: { again: true } });
});

scenario("pushes made before the join is answered are sent after it, in order, and all replied", async (h, { Socket }) => {
  const server = await h.startServer();
  const socket = h.track(new Socket(server.url, { transport: WebSocket }));
  // Not even connected yet: the join waits in the socket, the pushes in the channel.
  const channel = socket.channel("room:early", { name: "early" });
  const joined = reply(channel.join(), { what: "join ok on room:early" });
  const pushes = [1, 2, 3].map((n) => channel.push("ping", { n }));
  const messages = collectMessages(socket);
  socket.connect();

  assert.deepEqual(await joined, { status: "ok", response: {} });
  const answers = await Promise.all(pushes.map((push) => reply(push)));
  assert.deepEqual(answers, [1, 2, 3].map((n) => ({ status: "ok", response: { n } })));
  // The replies came in push order, each carrying the join's join_ref.
  const replies = messages.filter((m) => m.event === "phx_reply" && m.topic === "room:early");
  assert.deepEqual(replies.map((m) => m.ref), [channel.joinRef(), ...pushes.map((p) => p.ref)]);
  assert.ok(replies.every((m) => m.join_ref === channel.joinRef()));
});
