// Both clients connect to /socket/websocket (vsn 2.0.0 by default).

import assert from "node:assert/strict";
import WebSocket from "ws";
import { e2e, scenario } from "./support/harness.mjs";
import { open } from "./support/client.mjs";

scenario("socket opens and reports isConnected()", async (h, { Socket }) => {
  const server = await h.startServer();
  const socket = h.track(
    new Socket(server.url, {
      transport: WebSocket,
      // Any params are accepted by the demo app; nested ones use bracket form.
      params: { token: "abc", user: { id: 7 } },
    }),
  );
  assert.equal(socket.isConnected(), false);
  const closes = [];
  socket.onClose((event) => closes.push(event));

  await open(socket);

  assert.equal(socket.isConnected(), true);
  assert.equal(socket.connectionState(), "open");
  assert.match(socket.endPointURL(), /\/socket\/websocket\?token=abc&user%5Bid%5D=7&vsn=2\.0\.0$/);
  assert.deepEqual(closes, []);
});

e2e("GET /healthz answers 200", async (h) => {
  const server = await h.startServer();
  const response = await fetch(`${server.httpUrl}/healthz`, { signal: AbortSignal.timeout(5000) });
  await response.arrayBuffer();
  assert.equal(response.status, 200);
});
