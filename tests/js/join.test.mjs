// Joining a channel: ok for a routed topic, error for an unmatched one.

import assert from "node:assert/strict";
import WebSocket from "ws";
import { scenario } from "./support/harness.mjs";
import { open, reply } from "./support/client.mjs";

scenario("join room:lobby is answered ok and the channel is joined", async (h, { Socket }) => {
  const server = await h.startServer();
  const socket = h.track(new Socket(server.url, { transport: WebSocket }));
  await open(socket);
  const channel = socket.channel("room:lobby", { name: "alice" });

  const { status, response } = await reply(channel.join());

  assert.equal(status, "ok", `join reply: ${JSON.stringify(response)}`);
  assert.equal(channel.state, "joined");
});

scenario("join on an unmatched topic is answered error {reason: 'unmatched topic'}", async (h, { Socket }) => {
  const server = await h.startServer();
  const socket = h.track(new Socket(server.url, { transport: WebSocket }));
  await open(socket);
  const channel = socket.channel("nope:1", {});

  const { status, response } = await reply(channel.join());

  assert.equal(status, "error");
  assert.deepEqual(response, { reason: "unmatched topic" });
  assert.equal(channel.state, "errored");
  // The client would keep retrying the join with backoff; stop it.
  channel.leave();
});
