// Two clients on the same room see each other's `new_msg` broadcasts, named
// after the sender's join payload, and the sender sees its own.

import assert from "node:assert/strict";
import WebSocket from "ws";
import { scenario } from "./support/harness.mjs";
import { collect, collectMessages, joinOk, open, replyOk } from "./support/client.mjs";
import { waitFor } from "./support/wait.mjs";

scenario("new_msg is broadcast to every member of the room, sender included", async (h, { Socket }) => {
  const server = await h.startServer();
  const topic = "room:chat";
  const clients = {};
  for (const name of ["alice", "bob"]) {
    const socket = h.track(new Socket(server.url, { transport: WebSocket }), name);
    await open(socket);
    const channel = socket.channel(topic, { name });
    const received = collect(channel, "new_msg");
    const messages = collectMessages(socket);
    await joinOk(channel);
    clients[name] = { socket, channel, received, messages };
  }
  const bodies = (name) => clients[name].received.map((m) => m.payload);

  await replyOk(clients.alice.channel.push("new_msg", { body: "hi from alice" }));
  const fromAlice = { body: "hi from alice", name: "alice" };
  for (const name of ["alice", "bob"]) {
    await waitFor(() => clients[name].received.length >= 1, {
      what: () => `${name} to receive alice's new_msg (got ${JSON.stringify(bodies(name))})`,
    });
    assert.deepEqual(bodies(name), [fromAlice], `${name}'s new_msg events`);
  }

  await replyOk(clients.bob.channel.push("new_msg", { body: "hello from bob" }));
  const fromBob = { body: "hello from bob", name: "bob" };
  for (const name of ["alice", "bob"]) {
    await waitFor(() => clients[name].received.length >= 2, {
      what: () => `${name} to receive bob's new_msg (got ${JSON.stringify(bodies(name))})`,
    });
    assert.deepEqual(bodies(name), [fromAlice, fromBob], `${name}'s new_msg events`);
  }

  // Broadcasts are not tied to a join: both refs are null on the wire.
  for (const name of ["alice", "bob"]) {
    const frames = clients[name].messages.filter((m) => m.topic === topic && m.event === "new_msg");
    assert.equal(frames.length, 2);
    for (const frame of frames) {
      assert.equal(frame.join_ref, null, `${name}: broadcast join_ref`);
      assert.equal(frame.ref, null, `${name}: broadcast ref`);
    }
  }
});
