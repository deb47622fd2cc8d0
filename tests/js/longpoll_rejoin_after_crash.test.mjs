// A channel crash over LongPoll: phx_error reaches the client through its
// poll, the client rejoins by itself over the same session, and the channel
// works again.

import assert from "node:assert/strict";
import { scenario } from "./support/harness.mjs";
import { collectMessages, open, replyOk } from "./support/client.mjs";
import { joinRecorded, longPollSocket, waitJoined, watchSocket } from "./support/longpoll.mjs";
import { waitFor } from "./support/wait.mjs";

scenario("LongPoll: phx_error after a channel crash makes the client rejoin over the same session", async (h) => {
  const server = await h.startServer();
  const socket = longPollSocket(h, server, "alice");
  const events = watchSocket(socket);
  await open(socket);
  const token = socket.conn.token;
  const messages = collectMessages(socket);
  const channel = socket.channel("crash:lp", {});
  const errors = [];
  channel.onError((reason) => errors.push(reason));
  const joinOks = joinRecorded(channel);
  await waitJoined(channel, joinOks, 1);
  const firstJoinRef = channel.joinRef();

  channel.push("boom", {}, 500);

  await waitFor(() => errors.length >= 1, { what: () => `channel.onError after boom (state=${channel.state})` });
  assert.deepEqual(errors[0], { reason: "channel_crash" });
  const phxError = messages.find((m) => m.event === "phx_error");
  assert.equal(phxError.topic, "crash:lp");
  assert.equal(phxError.join_ref, firstJoinRef);

  await waitJoined(channel, joinOks, 2);
  assert.notEqual(joinOks[1].joinRef, firstJoinRef);
  assert.deepEqual(await replyOk(channel.push("ping", { again: true })), { again: true });
  assert.equal(socket.conn.token, token, "same session");
  assert.equal(events.opens, 1);
  assert.deepEqual(events.closes, []);
  assert.equal(errors.length, 1);
});
