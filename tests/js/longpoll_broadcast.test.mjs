// Broadcasts cross transports: a LongPoll client and a WebSocket client in the
// same room see each other's new_msg broadcasts (and their own), and an HTTP
// broadcast reaches the LongPoll client too.

import assert from "node:assert/strict";
import WebSocket from "ws";
import { scenario } from "./support/harness.mjs";
import { collect, collectMessages, joinOk, open, postBroadcast, replyOk } from "./support/client.mjs";
import { longPollSocket, watchSocket } from "./support/longpoll.mjs";
import { waitFor } from "./support/wait.mjs";

scenario("LongPoll and WebSocket clients in one room get each other's broadcasts", async (h, { Socket, LongPoll }) => {
  const server = await h.startServer();
  const topic = "room:mixed";
  const sockets = {
    lp: longPollSocket(h, server, "lp"),
    ws: h.track(new Socket(server.url, { transport: WebSocket }), "ws"),
  };
  const clients = {};
  for (const name of ["lp", "ws"]) {
    const socket = sockets[name];
    const events = watchSocket(socket);
    await open(socket);
    const channel = socket.channel(topic, { name });
    const received = collect(channel, "new_msg");
    const messages = collectMessages(socket);
    await joinOk(channel);
    clients[name] = { socket, channel, received, messages, events };
  }
  assert.ok(sockets.lp.conn instanceof LongPoll);
  assert.ok(sockets.ws.conn instanceof WebSocket);
  const bodies = (name) => clients[name].received.map((m) => m.payload);
  const expectAll = async (count, expected, label) => {
    for (const name of ["lp", "ws"]) {
      await waitFor(() => clients[name].received.length >= count, {
        what: () => `${name} to receive ${label} (got ${JSON.stringify(bodies(name))})`,
      });
      assert.deepEqual(bodies(name), expected, `${name}'s new_msg events`);
    }
  };

  // LongPoll → WebSocket (and back to the LongPoll sender).
  await replyOk(clients.lp.channel.push("new_msg", { body: "from longpoll" }));
  const fromLp = { body: "from longpoll", name: "lp" };
  await expectAll(1, [fromLp], "the LongPoll client's new_msg");

  // WebSocket → LongPoll (and back to the WebSocket sender).
  await replyOk(clients.ws.channel.push("new_msg", { body: "from websocket" }));
  const fromWs = { body: "from websocket", name: "ws" };
  await expectAll(2, [fromLp, fromWs], "the WebSocket client's new_msg");

  // HTTP → both.
  const news = { lp: collect(clients.lp.channel, "news"), ws: collect(clients.ws.channel, "news") };
  await postBroadcast(server.httpUrl, { topic, event: "news", payload: { n: 7, s: "ü" } });
  for (const name of ["lp", "ws"]) {
    await waitFor(() => news[name].length >= 1, { what: `${name} to receive the HTTP broadcast` });
    assert.deepEqual(news[name].map((m) => m.payload), [{ n: 7, s: "ü" }]);
  }

  // Over LongPoll, broadcasts are V2 frames with null refs as over WebSocket.
  const frames = clients.lp.messages.filter((m) => m.topic === topic && (m.event === "new_msg" || m.event === "news"));
  assert.equal(frames.length, 3);
  for (const frame of frames) {
    assert.equal(frame.join_ref, null, "broadcast join_ref");
    assert.equal(frame.ref, null, "broadcast ref");
  }
  for (const name of ["lp", "ws"]) {
    assert.equal(clients[name].events.opens, 1, `${name}: one connection`);
    assert.deepEqual(clients[name].events.closes, [], `${name}: no close`);
  }
});
