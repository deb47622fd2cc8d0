// Helpers for the LongPoll tests.
//
// Under Node 20 phoenix.js's Ajax finds neither XDomainRequest nor
// XMLHttpRequest on `globalThis`, so LongPoll requests go through the global
// `fetch` (with an AbortController for the request timeout); Embercast's
// client always uses `fetch`. Nothing needs a polyfill. Because both clients
// look `fetch` up on every request, a test can wrap it to record the LongPoll
// exchanges and to hold requests back (a client that stops polling, as on a
// network pause).

import { waitFor } from "./wait.mjs";

/** Fast reconnect and rejoin, so that recoveries take milliseconds. */
export const FAST = { reconnectAfterMs: () => 50, rejoinAfterMs: () => 50 };

/**
 * A `Socket` of the client under test (`h.client`) over LongPoll, tracked by
 * the harness. `params.client` is set to `label` so that recorded requests
 * can be told apart.
 */
export function longPollSocket(h, server, label, options = {}) {
  const { params = {}, ...rest } = options;
  const { Socket, LongPoll } = h.client;
  return h.track(
    new Socket(server.url, { transport: LongPoll, ...FAST, ...rest, params: { client: label, ...params } }),
    label,
  );
}

function abortError() {
  return new DOMException("This operation was aborted", "AbortError");
}

/** The session token of a LongPoll request URL: the last `token` param, if non-empty. */
export function sessionTokenOf(url) {
  const tokens = new URL(url).searchParams.getAll("token");
  const last = tokens.length ? tokens[tokens.length - 1] : "";
  return last || null;
}

/**
 * Wraps `globalThis.fetch` for the rest of the test (restored in t.after).
 *
 * Every request to a `/longpoll` URL is recorded as
 * `{method, url, client, token, body, contentType, status, response, error, held}`:
 * `client` is the `client` param (see longPollSocket), `token` the last `token`
 * param, i.e. the session token once the client has one (null on a first GET
 * unless the app has its own `token` param), `status` the `status` field of the
 * JSON answer, `response` the parsed answer.
 * Other requests (e.g. POST /api/broadcast) pass through untouched.
 *
 * `hold(predicate)` holds back every later request for which `predicate(record)`
 * is true (the request is not sent) until `release()`; an aborted held request
 * rejects with an AbortError, like fetch.
 */
export function interceptFetch(t) {
  const original = globalThis.fetch;
  const records = [];
  let holdPredicate = null;
  const held = new Set();

  const wrapped = async (input, init = {}) => {
    const url = String(input instanceof Request ? input.url : input);
    if (!new URL(url).pathname.endsWith("/longpoll")) return original(input, init);
    const headers = new Headers(init.headers || {});
    const record = {
      at: Date.now(),
      method: (init.method || "GET").toUpperCase(),
      url,
      client: new URL(url).searchParams.get("client"),
      token: sessionTokenOf(url),
      body: typeof init.body === "string" ? init.body : init.body == null ? null : String(init.body),
      contentType: headers.get("content-type"),
      status: undefined,
      response: undefined,
      error: undefined,
      held: false,
    };
    records.push(record);

    if (holdPredicate && holdPredicate(record)) {
      record.held = true;
      await new Promise((resolve, reject) => {
        const entry = { resolve, reject };
        held.add(entry);
        const signal = init.signal;
        if (signal) {
          if (signal.aborted) {
            held.delete(entry);
            reject(abortError());
            return;
          }
          signal.addEventListener(
            "abort",
            () => {
              if (held.delete(entry)) reject(abortError());
            },
            { once: true },
          );
        }
      }).catch((err) => {
        record.error = String(err && err.name);
        throw err;
      });
      record.held = false;
    }

    let response;
    try {
      response = await original(input, init);
    } catch (err) {
      record.error = String(err && err.name);
      throw err;
    }
    const text = await response.text();
    try {
      record.response = JSON.parse(text);
      record.status = record.response && record.response.status;
    } catch {
      record.response = text;
    }
    return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
  };

  globalThis.fetch = wrapped;
  const restore = () => {
    if (globalThis.fetch === wrapped) globalThis.fetch = original;
    holdPredicate = null;
    for (const entry of held) entry.reject(abortError());
    held.clear();
  };
  t.after(restore);

  return {
    records,
    /** Holds back later LongPoll requests matching `predicate` (all by default). */
    hold(predicate = () => true) {
      holdPredicate = predicate;
    },
    /** Stops holding and sends the held requests. */
    release() {
      holdPredicate = null;
      for (const entry of held) entry.resolve();
      held.clear();
    },
    /** How many requests are held right now. */
    get heldCount() {
      return held.size;
    },
    /** The unwrapped fetch, for probes that must not be recorded or held. */
    original,
    restore,
  };
}

/**
 * Waits until the recorded request `record` has its JSON answer and returns
 * it. The frames a POST carries are answered through a poll, which may reach
 * the client before the POST's own answer has been read.
 */
export function responseOf(record, { timeout = 5000 } = {}) {
  return waitFor(() => record.response !== undefined && record.response, {
    timeout,
    what: () => `the answer to ${record.method} ${record.url}`,
  });
}

/**
 * POSTs an empty ndjson body with `token` to the LongPoll endpoint. It carries
 * no frame and does not count as a poll, so it tells whether the session is
 * still alive without keeping it alive: resolves with the `status` field
 * (200 while the session lives, 410 once it is gone).
 */
export async function probeSession(fetchFn, server, token, { timeout = 2000 } = {}) {
  const response = await fetchFn(`${server.httpUrl}/socket/longpoll?vsn=2.0.0&token=${encodeURIComponent(token)}`, {
    method: "POST",
    headers: { "content-type": "application/x-ndjson" },
    body: "",
    signal: AbortSignal.timeout(timeout),
  });
  const body = await response.json();
  return body.status;
}

/**
 * Counts transport events of `socket`: `opens`, `closes` (the close events,
 * `{code, reason, wasClean}`) and `errors`.
 */
export function watchSocket(socket) {
  const state = { opens: 0, closes: [], errors: [] };
  socket.onOpen(() => (state.opens += 1));
  socket.onClose((event) => state.closes.push({ code: event.code, reason: event.reason, wasClean: event.wasClean }));
  socket.onError((error) => state.errors.push(error));
  return state;
}

/**
 * Joins `channel` and records every ok join reply (with the join_ref it was
 * for) in the returned array, including the client's automatic rejoins.
 */
export function joinRecorded(channel) {
  const joinOks = [];
  channel.join().receive("ok", (response) => joinOks.push({ response, joinRef: channel.joinRef() }));
  return joinOks;
}

/** Waits until `joinOks` has `count` entries and the channel is joined. */
export function waitJoined(channel, joinOks, count, { timeout = 5000 } = {}) {
  return waitFor(() => joinOks.length >= count && channel.state === "joined", {
    timeout,
    what: () => `join ok #${count} on ${channel.topic} (join oks=${joinOks.length}, state=${channel.state})`,
  });
}
