// Promise wrappers around the phoenix.js 1.8 callback API (which both clients
// under test implement), each with a deadline, plus the HTTP calls of the demo app.

import { waitFor } from "./wait.mjs";

/** Connects `socket` and resolves once its onOpen callback has fired. */
export async function open(socket, { timeout = 5000 } = {}) {
  const opened = new Promise((resolve) => {
    const ref = socket.onOpen(() => {
      socket.off([ref]);
      resolve();
    });
  });
  socket.connect();
  await waitFor(opened, { timeout, what: `socket open (${socket.endPointURL()})` });
}

/**
 * Disconnects cleanly (no reconnect). Both clients give up waiting for the
 * close handshake after ~1 s by themselves; the deadline only guards against a
 * client that never calls back.
 */
export async function disconnect(socket, { timeout = 3000 } = {}) {
  const done = new Promise((resolve) => socket.disconnect(resolve));
  await waitFor(done, { timeout, what: "socket disconnect" });
}

/**
 * Resolves with `{status, response}` when `push` (a Push, e.g.
 * from `channel.push()` or `channel.join()`) gets a reply with status "ok" or
 * "error". Rejects if the client reports a push timeout or the deadline passes.
 */
export function reply(push, { timeout = 5000, what } = {}) {
  const label = what || `reply to ${push.event} on ${push.channel.topic}`;
  const replied = new Promise((resolve, reject) => {
    push
      .receive("ok", (response) => resolve({ status: "ok", response }))
      .receive("error", (response) => resolve({ status: "error", response }))
      .receive("timeout", () => reject(new Error(`client push timeout: ${label}`)));
  });
  return waitFor(replied, { timeout, what: label });
}

/** Like `reply`, but fails unless the status is "ok"; resolves with the response. */
export async function replyOk(push, options = {}) {
  const { status, response } = await reply(push, options);
  if (status !== "ok") {
    throw new Error(
      `expected an ok reply to ${push.event} on ${push.channel.topic}, got ${status}: ${JSON.stringify(response)}`,
    );
  }
  return response;
}

/** Joins `channel` and resolves with the ok response (fails on an error reply). */
export function joinOk(channel, options = {}) {
  return replyOk(channel.join(), { what: `join ok on ${channel.topic}`, ...options });
}

/**
 * Collects every event `event` received by `channel` as
 * `{payload, ref, joinRef}` in the returned array.
 */
export function collect(channel, event) {
  const seen = [];
  channel.on(event, (payload, ref, joinRef) => seen.push({ payload, ref, joinRef }));
  return seen;
}

/**
 * Collects every message the socket decodes (`{topic, event, payload, ref,
 * join_ref}`), as seen by `socket.onMessage`.
 */
export function collectMessages(socket) {
  const seen = [];
  socket.onMessage((msg) => seen.push(msg));
  return seen;
}

/** POST /api/broadcast {topic, event, payload}; resolves with the Response (2xx asserted). */
export async function postBroadcast(httpUrl, body, { timeout = 5000 } = {}) {
  const response = await fetch(`${httpUrl}/api/broadcast`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeout),
  });
  const text = await response.text();
  if (response.status < 200 || response.status > 299) {
    throw new Error(`POST /api/broadcast answered ${response.status}: ${text}`);
  }
  return response;
}
