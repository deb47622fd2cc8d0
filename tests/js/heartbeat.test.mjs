// Heartbeats: the server answers each `phoenix` heartbeat with an ok reply
// carrying the heartbeat's ref, so the client keeps the connection.

import assert from "node:assert/strict";
import WebSocket from "ws";
import { scenario } from "./support/harness.mjs";
import { open } from "./support/client.mjs";
import { waitFor } from "./support/wait.mjs";

scenario("socket stays connected over several heartbeats", async (h, { Serializer, Socket }) => {
  const server = await h.startServer();
  const heartbeatRefs = new Set();
  const socket = h.track(
    new Socket(server.url, {
      transport: WebSocket,
      heartbeatIntervalMs: 300,
      // The default serializer, observed: remember the refs of sent heartbeats.
      encode: (msg, callback) => {
        if (msg.topic === "phoenix" && msg.event === "heartbeat") heartbeatRefs.add(msg.ref);
        return Serializer.encode(msg, callback);
      },
    }),
  );
  const replies = [];
  const unexpected = [];
  socket.onMessage((msg) => {
    if (msg.topic !== "phoenix") return;
    if (msg.event === "phx_reply" && heartbeatRefs.has(msg.ref)) replies.push(msg);
    else unexpected.push(msg);
  });
  const closes = [];
  const errors = [];
  socket.onClose((event) => closes.push(event.code));
  socket.onError((error) => errors.push(String(error && error.message)));

  await open(socket);
  const connection = socket.conn;

  await waitFor(() => replies.length >= 3 || closes.length > 0, {
    what: () => `3 heartbeat replies (got ${replies.length}, sent ${heartbeatRefs.size})`,
  });
  assert.deepEqual(closes, [], "the connection must not close (a late heartbeat reply makes the client close it)");
  assert.deepEqual(errors, []);
  assert.equal(socket.isConnected(), true);
  assert.equal(socket.conn, connection, "still the same WebSocket");
  assert.deepEqual(unexpected, []);
  for (const reply of replies) {
    assert.equal(reply.join_ref, null, "heartbeat reply join_ref");
    assert.deepEqual(reply.payload, { status: "ok", response: {} });
  }
});
