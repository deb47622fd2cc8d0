// Presence sync: the vectors of the protocol notes, buffering of diffs until
// the state of the current join, and keys that are Object.prototype names.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Presence } from "../src/embercast.js";
import { fixture } from "./support.js";

const vectors = fixture("presence.json");

/** Plain-object copy (the state maps have a null prototype). */
const plain = (value) => JSON.parse(JSON.stringify(value ?? null));

/** A stand-in for a Channel: bindings by event, a settable join ref. */
function fakeChannel() {
  const bindings = [];
  return {
    ref: "1",
    joinRef() {
      return this.ref;
    },
    on(event, callback) {
      bindings.push({ event, callback });
    },
    emit(event, payload) {
      for (const b of bindings.filter((b) => b.event === event)) b.callback(payload);
    },
  };
}

function recorder() {
  const joins = [];
  const leaves = [];
  return {
    joins,
    leaves,
    onJoin: (key, current, joined) => joins.push(plain([key, current, joined])),
    onLeave: (key, current, left) => leaves.push(plain([key, current, left])),
  };
}

for (const vector of vectors.client_sync) {
  test(`vector ${vector.name}`, () => {
    const rec = recorder();
    let state;
    if (vector.op === "syncState") {
      state = Presence.syncState(vector.state, vector.input, rec.onJoin, rec.onLeave);
    } else if (vector.op === "syncDiff") {
      state = Presence.syncDiff(vector.state, vector.input, rec.onJoin, rec.onLeave);
    } else {
      const channel = fakeChannel();
      const presence = new Presence(channel);
      for (const [event, payload] of vector.events) channel.emit(event, payload);
      state = presence.state;
    }
    assert.deepEqual(plain(state), vector.expect_state);
    if (vector.expect_onJoin) assert.deepEqual(rec.joins, vector.expect_onJoin);
    if (vector.expect_onLeave) assert.deepEqual(rec.leaves, vector.expect_onLeave);
  });
}

test("syncState and syncDiff leave their arguments unchanged", () => {
  const state = { u1: { metas: [{ phx_ref: "1" }] } };
  const diff = { joins: { u1: { metas: [{ phx_ref: "2" }] } }, leaves: { u1: { metas: [{ phx_ref: "1" }] } } };
  const before = plain({ state, diff });
  const next = Presence.syncDiff(state, diff);
  assert.deepEqual(plain(next), { u1: { metas: [{ phx_ref: "2" }] } });
  Presence.syncState(state, { u2: { metas: [{ phx_ref: "3" }] } });
  assert.deepEqual(plain({ state, diff }), before);
});

test("an update (leave old ref + join new ref in one diff) keeps only the new meta", () => {
  const diff = vectors.server_payloads.presence_diff_update[4];
  const state = Presence.syncDiff({}, { joins: { 42: diff.leaves[42] }, leaves: {} });
  const rec = recorder();
  const next = Presence.syncDiff(state, diff, rec.onJoin, rec.onLeave);
  assert.deepEqual(plain(next), { 42: diff.joins[42] });
  assert.equal(rec.joins.length, 1);
  assert.equal(rec.leaves.length, 1);
});

test("keys named like Object.prototype members are ordinary keys", () => {
  const keys = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"];
  // JSON.parse keeps "__proto__" as an own key, as a server payload would.
  const serverState = JSON.parse(`{${keys.map((k, i) => `"${k}":{"metas":[{"phx_ref":"r${i}"}]}`).join(",")}}`);
  assert.ok(Object.hasOwn(serverState, "__proto__"));

  const rec = recorder();
  const state = Presence.syncState({}, serverState, rec.onJoin, rec.onLeave);
  assert.equal(Object.getPrototypeOf(state), null, "the state is a null-prototype object");
  assert.deepEqual(Object.keys(state).sort(), [...keys].sort());
  assert.deepEqual(rec.joins.map(([key]) => key).sort(), [...keys].sort());
  for (const [i, key] of keys.entries()) {
    assert.deepEqual(rec.joins.find(([k]) => k === key), [key, null, { metas: [{ phx_ref: `r${i}` }] }]);
  }
  assert.deepEqual(rec.leaves, []);
  assert.equal(Object.prototype.metas, undefined, "Object.prototype untouched");
  assert.equal({}.metas, undefined);

  // A second meta under "__proto__" joins that key; a leave removes only it.
  const joinDiff = JSON.parse('{"joins":{"__proto__":{"metas":[{"phx_ref":"x"}]}},"leaves":{}}');
  const joined = Presence.syncDiff(state, joinDiff);
  assert.deepEqual(plain(joined["__proto__"].metas), [{ phx_ref: "r0" }, { phx_ref: "x" }]);
  const leaveDiff = JSON.parse('{"joins":{},"leaves":{"__proto__":{"metas":[{"phx_ref":"r0"},{"phx_ref":"x"}]},"constructor":{"metas":[{"phx_ref":"r1"}]}}}');
  const left = Presence.syncDiff(joined, leaveDiff);
  assert.ok(!Object.hasOwn(left, "__proto__") && !Object.hasOwn(left, "constructor"));
  assert.deepEqual(Presence.list(left, (key) => key).sort(), ["hasOwnProperty", "toString", "valueOf"]);

  // A leave for a key that is absent but inherited by plain objects is ignored.
  const rec2 = recorder();
  Presence.syncDiff({}, JSON.parse('{"joins":{},"leaves":{"toString":{"metas":[{"phx_ref":"1"}]}}}'), rec2.onJoin, rec2.onLeave);
  assert.deepEqual(rec2.leaves, []);

  // A plain-object state (as an app may pass in) does not leak Object.prototype.
  const fromPlain = Presence.syncState({ constructor: { metas: [{ phx_ref: "c" }] } }, {});
  assert.deepEqual(Object.keys(fromPlain), []);
});

test("list maps a chooser over the presences", () => {
  const state = Presence.syncState({}, vectors.server_payloads.presence_state_push[4]);
  assert.deepEqual(
    Presence.list(state, (key, { metas }) => `${key}:${metas.length}`).sort(),
    ["42:1", "7:2"],
  );
  assert.equal(Presence.list(state).length, 2);
  const presence = new Presence(fakeChannel());
  assert.deepEqual(presence.list(), []);
});

test("instance: diffs wait for the state of the current join, also after a rejoin", () => {
  const channel = fakeChannel();
  const presence = new Presence(channel);
  const rec = recorder();
  let syncs = 0;
  presence.onJoin(rec.onJoin);
  presence.onLeave(rec.onLeave);
  presence.onSync(() => (syncs += 1));

  assert.equal(presence.inPendingSyncState(), true);
  channel.emit("presence_diff", { joins: { b: { metas: [{ phx_ref: "b1" }] } }, leaves: {} });
  assert.equal(syncs, 0, "buffered: no sync before the state");
  assert.deepEqual(presence.list(), []);

  channel.emit("presence_state", { a: { metas: [{ phx_ref: "a1" }] } });
  assert.equal(syncs, 1, "one sync for the state and the buffered diff");
  assert.deepEqual(plain(presence.state), { a: { metas: [{ phx_ref: "a1" }] }, b: { metas: [{ phx_ref: "b1" }] } });
  assert.deepEqual(rec.joins.map(([key]) => key), ["a", "b"]);

  channel.emit("presence_diff", { joins: {}, leaves: { a: { metas: [{ phx_ref: "a1" }] } } });
  assert.equal(syncs, 2);
  assert.deepEqual(rec.leaves.map(([key]) => key), ["a"]);

  // The channel rejoined (new join ref): pending until the new state arrives.
  channel.ref = "7";
  assert.equal(presence.inPendingSyncState(), true);
  channel.emit("presence_diff", { joins: { c: { metas: [{ phx_ref: "c1" }] } }, leaves: {} });
  assert.equal(syncs, 2);
  // The new state no longer has b: b leaves; the buffered diff adds c.
  channel.emit("presence_state", { d: { metas: [{ phx_ref: "d1" }] } });
  assert.equal(syncs, 3);
  assert.deepEqual(Object.keys(presence.state).sort(), ["c", "d"]);
  assert.deepEqual(rec.leaves.map(([key]) => key), ["a", "b"]);
});

test("instance: custom event names", () => {
  const channel = fakeChannel();
  const presence = new Presence(channel, { events: { state: "who", diff: "who_diff" } });
  channel.emit("who", { a: { metas: [{ phx_ref: "1" }] } });
  channel.emit("who_diff", { joins: { b: { metas: [{ phx_ref: "2" }] } }, leaves: {} });
  assert.deepEqual(Object.keys(presence.state), ["a", "b"]);
});
