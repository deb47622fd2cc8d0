// A push with a reply over LongPoll: `ping` on room:* replies ok with the
// pushed payload. Pushes made in the same tick travel in one POST (one ndjson
// line each) and every reply still finds its push by ref. LongPoll never
// sends heartbeats.

import assert from "node:assert/strict";
import { scenario } from "./support/harness.mjs";
import { joinOk, open, reply } from "./support/client.mjs";
import { interceptFetch, longPollSocket, responseOf, watchSocket } from "./support/longpoll.mjs";

scenario("LongPoll: ping on room:lobby replies ok with the same payload", async (h, _client, t) => {
  const http = interceptFetch(t);
  const server = await h.startServer();
  const socket = longPollSocket(h, server, "alice", { heartbeatIntervalMs: 100 });
  const events = watchSocket(socket);
  await open(socket);
  const channel = socket.channel("room:lobby", { name: "alice" });
  await joinOk(channel);

  const payload = { n: 1, s: "x", nested: { list: [1, 2.5, { b: null }], t: true }, u: "ünïcødé ✓ \u2028 \"q\"\n" };
  assert.deepEqual(await reply(channel.push("ping", payload)), { status: "ok", response: payload });
  assert.deepEqual(await reply(channel.push("ping", { again: true })), { status: "ok", response: { again: true } });

  // Three pushes in one tick: one POST with three lines, three replies by ref.
  const postsBefore = http.records.filter((r) => r.method === "POST").length;
  const replies = await Promise.all([1, 2, 3].map((n) => reply(channel.push("ping", { n }))));
  assert.deepEqual(replies, [1, 2, 3].map((n) => ({ status: "ok", response: { n } })));
  const batch = http.records.filter((r) => r.method === "POST").slice(postsBefore);
  assert.equal(batch.length, 1, `one POST for the batch: ${JSON.stringify(batch.map((r) => r.body))}`);
  assert.deepEqual(
    batch[0].body.split("\n").map((line) => JSON.parse(line)[4]),
    [{ n: 1 }, { n: 2 }, { n: 3 }],
  );
  assert.deepEqual(await responseOf(batch[0]), { status: 200 });

  // No heartbeat ever went out, even with a 100 ms heartbeat interval.
  const lines = http.records.filter((r) => r.method === "POST").flatMap((r) => r.body.split("\n"));
  assert.ok(!lines.some((line) => line.includes('"heartbeat"')), "no heartbeat over LongPoll");
  assert.equal(events.opens, 1);
  assert.deepEqual(events.closes, []);
});
