// POST /api/broadcast reaches the clients joined to the topic.

import assert from "node:assert/strict";
import WebSocket from "ws";
import { scenario } from "./support/harness.mjs";
import { collect, collectMessages, joinOk, open, postBroadcast } from "./support/client.mjs";
import { waitFor } from "./support/wait.mjs";

scenario("POST /api/broadcast is delivered to a joined client", async (h, { Socket }) => {
  const server = await h.startServer();
  const socket = h.track(new Socket(server.url, { transport: WebSocket }));
  await open(socket);
  const channel = socket.channel("room:news", { name: "reader" });
  const news = collect(channel, "news");
  const messages = collectMessages(socket);
  await joinOk(channel);

  const payload = { headline: "from http", n: 42, tags: ["a", "b"] };
  await postBroadcast(server.httpUrl, { topic: "room:news", event: "news", payload });

  await waitFor(() => news.length >= 1, { what: "the `news` broadcast on room:news" });
  assert.deepEqual(news[0].payload, payload);

  const frame = messages.find((m) => m.event === "news");
  assert.equal(frame.topic, "room:news");
  assert.equal(frame.join_ref, null, "broadcast join_ref");
  assert.equal(frame.ref, null, "broadcast ref");
});

scenario("POST /api/broadcast to another topic does not reach the client", async (h, { Socket }) => {
  const server = await h.startServer();
  const socket = h.track(new Socket(server.url, { transport: WebSocket }));
  await open(socket);
  const channel = socket.channel("room:mine", { name: "reader" });
  const events = [];
  socket.onMessage((m) => {
    if (m.event === "news") events.push(m);
  });
  await joinOk(channel);

  await postBroadcast(server.httpUrl, { topic: "room:other", event: "news", payload: { n: 1 } });
  await postBroadcast(server.httpUrl, { topic: "room:mine", event: "news", payload: { n: 2 } });

  // Delivery to one connection is ordered, so once the second broadcast has
  // arrived the first one would have too, had it been routed here.
  await waitFor(() => events.length >= 1, { what: "the `news` broadcast on room:mine" });
  assert.deepEqual(
    events.map((m) => [m.topic, m.payload]),
    [["room:mine", { n: 2 }]],
  );
});
