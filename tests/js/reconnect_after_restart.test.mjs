// When the server goes away and comes back on the same port, the client
// reconnects by itself and rejoins its channels.

import assert from "node:assert/strict";
import WebSocket from "ws";
import { scenario } from "./support/harness.mjs";
import { collect, joinOk, open, postBroadcast, replyOk } from "./support/client.mjs";
import { waitFor } from "./support/wait.mjs";

const FAST = { reconnectAfterMs: () => 50, rejoinAfterMs: () => 50 };

scenario("client reconnects and rejoins after a server restart", async (h, { Socket }) => {
  const server = await h.startServer();
  const socket = h.track(new Socket(server.url, { transport: WebSocket, ...FAST }), "alice");
  let opens = 0;
  let closes = 0;
  socket.onOpen(() => (opens += 1));
  socket.onClose(() => (closes += 1));
  await open(socket);

  const channel = socket.channel("room:r", { name: "alice" });
  const joinOks = [];
  const received = collect(channel, "new_msg");
  const news = collect(channel, "news");
  channel.join().receive("ok", () => joinOks.push(channel.joinRef()));
  await waitFor(() => joinOks.length === 1, { what: "first join ok on room:r" });

  await server.restart();

  await waitFor(() => closes >= 1, { what: "the client to notice the connection loss" });
  await waitFor(() => opens >= 2 && socket.isConnected(), {
    timeout: 10_000,
    what: () => `reconnect (opens=${opens}, state=${socket.connectionState()})`,
  });
  await waitFor(() => joinOks.length >= 2 && channel.state === "joined", {
    timeout: 5000,
    what: () => `rejoin of room:r (join oks=${joinOks.length}, state=${channel.state})`,
  });

  // The rejoined channel gets broadcasts from the new server process: from HTTP...
  await postBroadcast(server.httpUrl, { topic: "room:r", event: "news", payload: { after: "restart" } });
  await waitFor(() => news.length >= 1, { what: "HTTP broadcast after the restart" });
  assert.deepEqual(news.map((m) => m.payload), [{ after: "restart" }]);

  // ...and from another client.
  const other = h.track(new Socket(server.url, { transport: WebSocket, ...FAST }), "bob");
  await open(other);
  const otherChannel = other.channel("room:r", { name: "bob" });
  await joinOk(otherChannel);
  await replyOk(otherChannel.push("new_msg", { body: "welcome back" }));
  await waitFor(() => received.length >= 1, { what: "bob's new_msg after the restart" });
  assert.deepEqual(received.map((m) => m.payload), [{ body: "welcome back", name: "bob" }]);

  // And the reconnected client can push again.
  assert.deepEqual(await replyOk(channel.push("ping", { n: 1 })), { n: 1 });
});
