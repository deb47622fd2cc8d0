// vsn 1.0.0: frames are JSON objects {topic, event, payload, ref, join_ref};
// the server never sends a join_ref key in V1. phoenix.js 1.8 only ships the
// V2 serializer, so the test brings a small V1 encoder/decoder (passed to both
// clients as encode/decode).

import assert from "node:assert/strict";
import WebSocket from "ws";
import { Socket as EmbercastSocket } from "embercast";
import { e2e, scenario } from "./support/harness.mjs";
import { collect, joinOk, open, reply, replyOk } from "./support/client.mjs";
import { waitFor } from "./support/wait.mjs";

function v1Serializer() {
  const received = [];
  return {
    /** Every decoded server frame, as parsed JSON. */
    received,
    encode(msg, callback) {
      const frame = { topic: msg.topic, event: msg.event, payload: msg.payload, ref: msg.ref };
      // Heartbeats have no join_ref; V1 treats the key as optional.
      if (msg.join_ref !== undefined && msg.join_ref !== null) frame.join_ref = msg.join_ref;
      return callback(JSON.stringify(frame));
    },
    decode(raw, callback) {
      if (typeof raw !== "string") throw new Error("V1 never uses binary frames");
      const frame = JSON.parse(raw);
      received.push(frame);
      const { topic, event, payload, ref } = frame;
      return callback({ join_ref: frame.join_ref ?? null, ref, topic, event, payload });
    },
  };
}

scenario("vsn 1.0.0: join, ping reply and broadcast work with V1 object frames", async (h, { Socket }) => {
  const server = await h.startServer();
  const v1 = v1Serializer();
  const socket = h.track(
    new Socket(server.url, {
      transport: WebSocket,
      vsn: "1.0.0",
      encode: v1.encode,
      decode: v1.decode,
    }),
  );
  assert.match(socket.endPointURL(), /\/socket\/websocket\?vsn=1\.0\.0$/);
  await open(socket);

  const channel = socket.channel("room:v1", { name: "old" });
  const broadcasts = collect(channel, "new_msg");
  await joinOk(channel);

  const pong = await reply(channel.push("ping", { a: 1, s: "ü" }));
  assert.deepEqual(pong, { status: "ok", response: { a: 1, s: "ü" } });

  await replyOk(channel.push("new_msg", { body: "v1" }));
  await waitFor(() => broadcasts.length >= 1, { what: "new_msg broadcast over V1" });
  assert.deepEqual(broadcasts[0].payload, { body: "v1", name: "old" });

  assert.ok(v1.received.length >= 4, "join reply, ping reply, broadcast, new_msg reply");
  for (const frame of v1.received) {
    assert.ok(frame && typeof frame === "object" && !Array.isArray(frame), `V1 frame must be an object: ${JSON.stringify(frame)}`);
    assert.deepEqual(Object.keys(frame).sort(), ["event", "payload", "ref", "topic"], `V1 frame keys: ${JSON.stringify(frame)}`);
  }
  const broadcastFrame = v1.received.find((f) => f.event === "new_msg");
  assert.equal(broadcastFrame.ref, null);
});

// Embercast's client picks its own V1 serializer for vsn 1.0.0 (phoenix.js
// would keep sending V2 arrays, which a V1 server cannot decode).
e2e("vsn 1.0.0 without encode/decode: the embercast client speaks V1 by itself", async (h) => {
  const server = await h.startServer();
  const socket = h.track(new EmbercastSocket(server.url, { transport: WebSocket, vsn: "1.0.0" }));
  await open(socket);
  const channel = socket.channel("room:v1auto", { name: "auto" });
  const broadcasts = collect(channel, "new_msg");
  await joinOk(channel);
  assert.deepEqual(await reply(channel.push("ping", { a: 1 })), { status: "ok", response: { a: 1 } });
  await replyOk(channel.push("new_msg", { body: "v1" }));
  await waitFor(() => broadcasts.length >= 1, { what: "new_msg broadcast over V1" });
  assert.deepEqual(broadcasts[0].payload, { body: "v1", name: "auto" });
});
