// A push with a reply: `ping` on room:* replies ok with the pushed payload.

import assert from "node:assert/strict";
import { Socket } from "phoenix";
import WebSocket from "ws";
import { e2e } from "./support/harness.mjs";
import { joinOk, open, reply } from "./support/client.mjs";

e2e("ping on room:lobby replies ok with the same payload", async (h) => {
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
