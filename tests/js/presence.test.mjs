// Presence with the client's own `Presence` class against `embercast serve`:
// the demo's rooms track each joiner under their name. After every change,
// once things are quiet, every member's `presence.list()` equals the server's
// list (asked with the room's `presence` event), down to each meta's phx_ref.

import assert from "node:assert/strict";
import WebSocket from "ws";
import { scenario } from "./support/harness.mjs";
import { collectMessages, joinOk, replyOk } from "./support/client.mjs";
import { waitFor } from "./support/wait.mjs";

const FAST = { reconnectAfterMs: () => 50, rejoinAfterMs: () => 50 };

let rooms = 0;
function freshRoom(label) {
  rooms += 1;
  return `room:presence-${label}-${process.pid}-${rooms}`;
}

/** A member of `topic`: a socket, its channel and a Presence on it, plus what its callbacks saw. */
function member(h, server, { Socket, Presence }, topic, name, options = {}) {
  const socket = h.track(new Socket(server.url, { transport: WebSocket, ...FAST, ...options }), name);
  socket.connect();
  const channel = socket.channel(topic, { name });
  const presence = new Presence(channel);
  const seen = { joins: [], leaves: [], syncs: 0 };
  presence.onJoin((key, current, joined) => seen.joins.push({ key, refs: joined.metas.map((m) => m.phx_ref) }));
  presence.onLeave((key, current, left) => seen.leaves.push({ key, refs: left.metas.map((m) => m.phx_ref) }));
  presence.onSync(() => (seen.syncs += 1));
  return { name, socket, channel, presence, seen };
}

/** `["key/phx_ref", …]` sorted, from a Presence or from a server list. */
function versionsOf(presence) {
  return presence.list((key, { metas }) => metas.map((m) => `${key}/${m.phx_ref}`)).flat().sort();
}
function versionsOfList(list) {
  return Object.entries(list).flatMap(([key, { metas }]) => metas.map((m) => `${key}/${m.phx_ref}`)).sort();
}
function keysOf(presence) {
  return presence.list((key) => key).sort();
}

/** Waits until every member's list equals the server's list as `asker` sees it, and returns it. */
async function allAgree(members, asker, what = "every member's list to equal the server's") {
  let server = [];
  await waitFor(
    async () => {
      server = versionsOfList(await replyOk(asker.channel.push("presence", {})));
      return members.every((m) => JSON.stringify(versionsOf(m.presence)) === JSON.stringify(server));
    },
    { what: () => `${what}: server ${JSON.stringify(server)}; ${members.map((m) => `${m.name} ${JSON.stringify(versionsOf(m.presence))}`).join("; ")}` },
  );
  return server;
}

scenario("presence: members see each other join, update and leave", async (h, client) => {
  const server = await h.startServer();
  const topic = freshRoom("basic");
  const alice = member(h, server, client, topic, "alice");
  await joinOk(alice.channel);
  await waitFor(() => keysOf(alice.presence).join() === "alice", { what: () => `alice sees herself: ${keysOf(alice.presence)}` });
  const bob = member(h, server, client, topic, "bob");
  await joinOk(bob.channel);
  await allAgree([alice, bob], alice);
  assert.deepEqual(keysOf(alice.presence), ["alice", "bob"]);
  assert.ok(alice.seen.joins.some((j) => j.key === "bob"), "alice's onJoin saw bob");
  const aliceMeta = alice.presence.list((key, { metas }) => (key === "alice" ? metas[0] : null)).find(Boolean);
  assert.match(aliceMeta.online_at, /^\d+$/);

  // An update: one diff with bob in joins and leaves; bob never disappears from alice's list.
  let bobMissing = false;
  alice.presence.onSync(() => {
    if (!keysOf(alice.presence).includes("bob")) bobMissing = true;
  });
  const { phx_ref } = await replyOk(bob.channel.push("status", { status: "away" }));
  await waitFor(() => versionsOf(alice.presence).includes(`bob/${phx_ref}`), { what: "alice sees bob's update" });
  const bobMeta = alice.presence.list((key, { metas }) => (key === "bob" ? metas[0] : null)).find(Boolean);
  assert.equal(bobMeta.status, "away");
  assert.ok(bobMeta.phx_ref_prev, "an update carries phx_ref_prev");
  assert.equal(bobMissing, false, "bob vanished from alice's list during his update");
  await allAgree([alice, bob], alice);

  // bob leaves the channel: alice sees him go.
  await replyOk(bob.channel.leave());
  await waitFor(() => keysOf(alice.presence).join() === "alice", { what: () => `bob gone: ${keysOf(alice.presence)}` });
  assert.ok(alice.seen.leaves.some((l) => l.key === "bob"), "alice's onLeave saw bob");
  await allAgree([alice], alice);
});

scenario("presence: a disconnect removes the member, a reconnect brings them back", async (h, client) => {
  const server = await h.startServer();
  const topic = freshRoom("reconnect");
  const alice = member(h, server, client, topic, "alice");
  const carol = member(h, server, client, topic, "carol");
  await joinOk(alice.channel);
  await joinOk(carol.channel);
  await allAgree([alice, carol], alice);

  // carol's connection drops (no leave): the server ends her channel.
  carol.socket.disconnect();
  await waitFor(() => keysOf(alice.presence).join() === "alice", { what: () => `carol gone: ${keysOf(alice.presence)}` });

  // She comes back on the same socket and rejoins by herself: a new presence (new phx_ref).
  const before = alice.seen.joins.filter((j) => j.key === "carol").length;
  carol.socket.connect();
  await allAgree([alice, carol], alice);
  assert.deepEqual(keysOf(carol.presence), ["alice", "carol"]);
  assert.equal(alice.seen.joins.filter((j) => j.key === "carol").length, before + 1);
});

scenario("presence: two connections under one name are one key with two metas", async (h, client) => {
  const server = await h.startServer();
  const topic = freshRoom("two-devices");
  const web = member(h, server, client, topic, "dana");
  const phone = member(h, server, client, topic, "dana");
  await joinOk(web.channel);
  await joinOk(phone.channel);
  const list = await allAgree([web, phone], web);
  assert.equal(list.length, 2);
  assert.deepEqual(keysOf(web.presence), ["dana"]);
  phone.socket.disconnect();
  await waitFor(() => versionsOf(web.presence).length === 1, { what: "one meta left under dana" });
  assert.deepEqual(keysOf(web.presence), ["dana"], "the key stays while one meta remains");
});

scenario("presence: names like __proto__ and constructor are ordinary keys", async (h, client) => {
  const server = await h.startServer();
  const topic = freshRoom("proto");
  const members = ["__proto__", "constructor", "toString"].map((n) => member(h, server, client, topic, n));
  for (const m of members) await joinOk(m.channel);
  await allAgree(members, members[0]);
  assert.deepEqual(keysOf(members[0].presence), ["__proto__", "constructor", "toString"]);
});

scenario("presence: lists agree after a storm of concurrent joins and disconnects", async (h, client) => {
  const server = await h.startServer();
  const topic = freshRoom("storm");
  const observer = member(h, server, client, topic, "observer");
  await joinOk(observer.channel);
  const pool = [];
  for (let i = 0; i < 12; i++) pool.push(member(h, server, client, topic, `user${i % 8}`));
  for (const m of pool) m.channel.join();
  // Three rounds: everybody joins at once; then half of them drop at once and come back.
  for (let round = 0; round < 3; round++) {
    await Promise.all(pool.map((m) => (m.channel.state === "joined" ? null : waitFor(() => m.channel.state === "joined", { what: `${m.name} joined` }))));
    const dropping = pool.filter((_, i) => (i + round) % 2 === 0);
    for (const m of dropping) m.socket.disconnect();
    for (const m of dropping) m.socket.connect();
  }
  await Promise.all(pool.map((m) => waitFor(() => m.channel.state === "joined", { what: `${m.name} joined at the end` })));
  const list = await allAgree([observer, ...pool], observer, "after the storm, every list equals the server's");
  assert.equal(list.length, pool.length + 1, `one meta per live connection: ${JSON.stringify(list)}`);
});

// phoenix.js buffers the diffs that arrive before a join's presence_state and
// applies them after it, and keeps that buffer across a rejoin: a diff that
// reaches a client before its state (a join of X), followed by a disconnect
// before the state arrives, comes back after the next join's state as a ghost
// X that no leave will ever remove. So a joiner must get its presence_state
// before any presence_diff of that join, even while the room is busy.
scenario("presence: a joiner gets presence_state before any presence_diff, even in a busy room", async (h, client) => {
  const server = await h.startServer();
  const topic = freshRoom("busy");
  const busy = member(h, server, client, topic, "busy");
  await joinOk(busy.channel);
  let stop = false;
  const spam = (async () => {
    for (let n = 0; !stop; n++) await replyOk(busy.channel.push("status", { status: `s${n}` }));
  })();
  const bad = [];
  for (let i = 0; i < 10; i++) {
    const joiner = member(h, server, client, topic, `joiner${i}`);
    const messages = collectMessages(joiner.socket);
    await joinOk(joiner.channel);
    await waitFor(() => messages.some((m) => m.topic === topic && m.event === "presence_state"), { what: `joiner${i}'s presence_state` });
    const presence = messages.filter((m) => m.topic === topic && m.event.startsWith("presence_"));
    if (presence[0].event !== "presence_state") bad.push(`joiner${i}: ${presence.map((m) => m.event).join(",")}`);
    joiner.socket.disconnect();
  }
  stop = true;
  await spam;
  assert.deepEqual(bad, [], "diffs reached joiners before their presence_state");
});
