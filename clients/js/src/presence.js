// Client-side Presence: keeps `key → {metas: [...]}` in sync from the
// `presence_state` and `presence_diff` events of a channel. Metas are told
// apart by `phx_ref`. Keys are chosen by the server (often user input), so
// every key map is a null-prototype object and keys are tested with
// Object.hasOwn: "__proto__" or "constructor" are ordinary keys here.

const DEFAULT_EVENTS = Object.freeze({ state: "presence_state", diff: "presence_diff" });
const noop = () => {};

/** An empty key map. */
function emptyMap() {
  return Object.create(null);
}

/** A deep copy of JSON data; own "__proto__" keys stay own keys. */
function cloneJSON(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/** A null-prototype copy of a key map (its presences deep-copied). */
function cloneMap(map) {
  const copy = emptyMap();
  if (map) for (const key of Object.keys(map)) copy[key] = cloneJSON(map[key]);
  return copy;
}

function refsOf(presence) {
  return new Set(presence.metas.map((meta) => meta.phx_ref));
}

export class Presence {
  /**
   * @param {import("./channel.js").Channel} channel
   * @param {{events?: {state: string, diff: string}}} [opts]
   */
  constructor(channel, opts = {}) {
    const events = opts.events || DEFAULT_EVENTS;
    this.state = emptyMap();
    this.pendingDiffs = [];
    this.channel = channel;
    this.joinRef = null;
    this.caller = { onJoin: noop, onLeave: noop, onSync: noop };

    channel.on(events.state, (newState) => {
      const { onJoin, onLeave, onSync } = this.caller;
      this.joinRef = this.channel.joinRef();
      this.state = Presence.syncState(this.state, newState, onJoin, onLeave);
      for (const diff of this.pendingDiffs) this.state = Presence.syncDiff(this.state, diff, onJoin, onLeave);
      this.pendingDiffs = [];
      onSync();
    });

    channel.on(events.diff, (diff) => {
      const { onJoin, onLeave, onSync } = this.caller;
      if (this.inPendingSyncState()) {
        this.pendingDiffs.push(diff);
      } else {
        this.state = Presence.syncDiff(this.state, diff, onJoin, onLeave);
        onSync();
      }
    });
  }

  /** `callback(key, currentPresence | undefined, newPresence)` for every join. */
  onJoin(callback) {
    this.caller.onJoin = callback;
  }

  /** `callback(key, currentPresence, leftPresence)` for every leave. */
  onLeave(callback) {
    this.caller.onLeave = callback;
  }

  /** `callback()` after each state or diff has been applied. */
  onSync(callback) {
    this.caller.onSync = callback;
  }

  /** `chooser(key, presence)` for every key (the presences themselves by default). */
  list(by) {
    return Presence.list(this.state, by);
  }

  /**
   * True until the `presence_state` of the current join arrives (after every
   * rejoin too): diffs are buffered meanwhile.
   */
  inPendingSyncState() {
    return !this.joinRef || this.joinRef !== this.channel.joinRef();
  }

  /**
   * Reconciles `currentState` with a full `newState` from the server: keys
   * and metas (by phx_ref) only in the new state are joins, those only in the
   * current state are leaves. Returns the new state; the arguments are not
   * modified.
   */
  static syncState(currentState, newState, onJoin, onLeave) {
    const state = cloneMap(currentState);
    const incoming = cloneMap(newState);
    const joins = emptyMap();
    const leaves = emptyMap();

    for (const key of Object.keys(state)) {
      if (!Object.hasOwn(incoming, key)) leaves[key] = state[key];
    }
    for (const key of Object.keys(incoming)) {
      const newPresence = incoming[key];
      if (!Object.hasOwn(state, key)) {
        joins[key] = newPresence;
        continue;
      }
      const currentPresence = state[key];
      const newRefs = refsOf(newPresence);
      const currentRefs = refsOf(currentPresence);
      const joinedMetas = newPresence.metas.filter((meta) => !currentRefs.has(meta.phx_ref));
      const leftMetas = currentPresence.metas.filter((meta) => !newRefs.has(meta.phx_ref));
      if (joinedMetas.length > 0) joins[key] = { ...newPresence, metas: joinedMetas };
      if (leftMetas.length > 0) leaves[key] = { ...currentPresence, metas: leftMetas };
    }
    return Presence.syncDiff(state, { joins, leaves }, onJoin, onLeave);
  }

  /**
   * Applies a diff `{joins, leaves}`: joined metas are added (after the
   * metas already there), then left metas are removed by phx_ref and keys
   * without metas are dropped. Joins come first, so an update (leave of the
   * old meta + join of the new one) keeps only the new meta. Returns the new
   * state; the arguments are not modified.
   */
  static syncDiff(state, diff, onJoin = noop, onLeave = noop) {
    const next = cloneMap(state);
    const joins = cloneMap(diff && diff.joins);
    const leaves = cloneMap(diff && diff.leaves);

    for (const key of Object.keys(joins)) {
      const newPresence = joins[key];
      const currentPresence = Object.hasOwn(next, key) ? next[key] : undefined;
      const merged = cloneJSON(newPresence);
      if (currentPresence) {
        const joinedRefs = refsOf(merged);
        const kept = currentPresence.metas.filter((meta) => !joinedRefs.has(meta.phx_ref));
        merged.metas = kept.concat(merged.metas);
      }
      next[key] = merged;
      onJoin(key, currentPresence, newPresence);
    }

    for (const key of Object.keys(leaves)) {
      if (!Object.hasOwn(next, key)) continue;
      const leftPresence = leaves[key];
      const leftRefs = refsOf(leftPresence);
      const currentPresence = { ...next[key], metas: next[key].metas.filter((meta) => !leftRefs.has(meta.phx_ref)) };
      next[key] = currentPresence;
      onLeave(key, currentPresence, leftPresence);
      if (currentPresence.metas.length === 0) delete next[key];
    }
    return next;
  }

  /** `chooser(key, presence)` mapped over the keys of `presences`. */
  static list(presences, chooser = (_key, presence) => presence) {
    return Object.keys(presences).map((key) => chooser(key, presences[key]));
  }
}
