// A binary push over LongPoll: the client sends the V2 binary push frame as a
// base64 ndjson line. The server decodes and handles it; echo:* answers with a
// binary reply, which cannot travel over LongPoll (the client would hand it to
// its JSON decoder), so the server sends the documented error reply instead.
// The session survives.

import assert from "node:assert/strict";
import { scenario } from "./support/harness.mjs";
import { collectMessages, joinOk, open, reply } from "./support/client.mjs";
import { interceptFetch, longPollSocket, responseOf, watchSocket } from "./support/longpoll.mjs";

const BINARY_OVER_LONGPOLL = { reason: "binary payloads need vsn 2.0.0 over WebSocket" };

/** Decodes a V2 binary push frame (kind 0). */
function decodePush(bytes) {
  assert.equal(bytes[0], 0, "kind: push");
  const sizes = [bytes[1], bytes[2], bytes[3], bytes[4]];
  const text = new TextDecoder();
  let offset = 5;
  const [joinRef, ref, topic, event] = sizes.map((size) => {
    const field = text.decode(bytes.subarray(offset, offset + size));
    offset += size;
    return field;
  });
  return { joinRef, ref, topic, event, payload: bytes.subarray(offset) };
}

scenario("LongPoll: an ArrayBuffer push reaches echo:bin; its binary reply becomes the error reply", async (h, _client, t) => {
  const http = interceptFetch(t);
  const server = await h.startServer();
  const socket = longPollSocket(h, server, "alice");
  const events = watchSocket(socket);
  await open(socket);
  const token = socket.conn.token;
  const channel = socket.channel("echo:bin", {});
  await joinOk(channel);

  const push = channel.push("blob", new Uint8Array([1, 2, 3, 255]).buffer);
  const answer = await reply(push);
  assert.deepEqual(answer, { status: "error", response: BINARY_OVER_LONGPOLL });

  // On the wire: one POST whose single line is the base64 of the V2 binary push frame.
  const post = http.records.find((r) => r.method === "POST" && !r.body.startsWith("["));
  assert.ok(post, "a POST with a non-JSON line");
  assert.equal(post.contentType, "application/x-ndjson");
  assert.match(post.body, /^[A-Za-z0-9+/]+=*$/, "one standard base64 line");
  const frame = decodePush(new Uint8Array(Buffer.from(post.body, "base64")));
  assert.deepEqual(
    { ...frame, payload: [...frame.payload] },
    { joinRef: channel.joinRef(), ref: push.ref, topic: "echo:bin", event: "blob", payload: [1, 2, 3, 255] },
  );
  assert.deepEqual(await responseOf(post), { status: 200 });

  // The session survives: same token, JSON pushes still work.
  assert.deepEqual(await reply(channel.push("ping", { after: "binary" })), { status: "ok", response: { after: "binary" } });
  assert.equal(socket.conn.token, token);
  assert.equal(events.opens, 1);
  assert.deepEqual(events.closes, []);
  assert.deepEqual(events.errors, []);
});

scenario("LongPoll: binary and JSON lines in one POST are handled in order", async (h, _client, t) => {
  const http = interceptFetch(t);
  const server = await h.startServer();
  const socket = longPollSocket(h, server, "alice");
  const events = watchSocket(socket);
  await open(socket);
  const channel = socket.channel("echo:bin", {});
  await joinOk(channel);

  // Same tick: one POST with a JSON line, a binary line (empty payload), a
  // larger binary line and a JSON line.
  const postsBefore = http.records.filter((r) => r.method === "POST").length;
  const messages = collectMessages(socket);
  const big = new Uint8Array(70_000).map((_, i) => (i * 7) % 256);
  const pushes = [
    channel.push("a", { n: 1 }),
    channel.push("blob", new ArrayBuffer(0)),
    channel.push("blob", big.buffer),
    channel.push("b", { n: 2 }),
  ];
  const answers = await Promise.all(pushes.map((push) => reply(push)));
  assert.deepEqual(answers, [
    { status: "ok", response: { n: 1 } },
    { status: "error", response: BINARY_OVER_LONGPOLL },
    { status: "error", response: BINARY_OVER_LONGPOLL },
    { status: "ok", response: { n: 2 } },
  ]);
  const posts = http.records.filter((r) => r.method === "POST").slice(postsBefore);
  assert.equal(posts.length, 1, "one POST");
  const lines = posts[0].body.split("\n");
  assert.equal(lines.length, 4);
  assert.deepEqual(JSON.parse(lines[0])[4], { n: 1 });
  assert.deepEqual([...decodePush(new Uint8Array(Buffer.from(lines[1], "base64"))).payload], []);
  assert.deepEqual(decodePush(new Uint8Array(Buffer.from(lines[2], "base64"))).payload, big);
  assert.deepEqual(JSON.parse(lines[3])[4], { n: 2 });
  // The replies came back in the order of the lines.
  assert.deepEqual(
    messages.filter((m) => m.event === "phx_reply").map((m) => m.ref),
    pushes.map((push) => push.ref),
  );

  assert.equal(events.opens, 1);
  assert.deepEqual(events.closes, []);
});
