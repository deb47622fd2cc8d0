// A channel that crashes on the server sends phx_error; the client then
// rejoins by itself (new join_ref) and the channel works again.

import assert from "node:assert/strict";
import WebSocket from "ws";
import { scenario } from "./support/harness.mjs";
import { collectMessages, open, replyOk } from "./support/client.mjs";
import { waitFor } from "./support/wait.mjs";

scenario("phx_error after a channel crash makes the client rejoin", async (h, { Socket }) => {
  const server = await h.startServer();
  const socket = h.track(
    new Socket(server.url, { transport: WebSocket, rejoinAfterMs: () => 50 }),
  );
  await open(socket);
  const messages = collectMessages(socket);
  const channel = socket.channel("crash:x", {});
  const joinOks = [];
  const errors = [];
  const socketCloses = [];
  socket.onClose((event) => socketCloses.push(event));
  channel.onError((reason) => errors.push(reason));
  channel.join().receive("ok", (response) => joinOks.push({ response, joinRef: channel.joinRef() }));

  await waitFor(() => joinOks.length >= 1, { what: "first join ok on crash:x" });
  const firstJoinRef = channel.joinRef();
  assert.equal(channel.state, "joined");

  // No reply is expected to the crashing push: keep its client-side timeout short.
  channel.push("boom", {}, 500);

  await waitFor(() => errors.length >= 1, {
    what: () => `channel.onError after boom (state=${channel.state})`,
  });
  assert.deepEqual(errors[0], { reason: "channel_crash" }, "phx_error payload");
  const phxError = messages.find((m) => m.event === "phx_error");
  assert.equal(phxError.topic, "crash:x");
  assert.equal(phxError.join_ref, firstJoinRef, "phx_error must carry the crashed join's join_ref");

  await waitFor(() => joinOks.length >= 2 && channel.state === "joined", {
    what: () => `rejoin (join oks=${joinOks.length}, state=${channel.state})`,
  });
  assert.notEqual(joinOks[1].joinRef, firstJoinRef, "the rejoin uses a new join_ref");

  const pong = await replyOk(channel.push("ping", { again: true }));
  assert.deepEqual(pong, { again: true });
  assert.equal(socketCloses.length, 0, "the connection itself stays open");
  assert.equal(errors.length, 1, "one phx_error only");
});
