// The LongPoll transport against a scripted `fetch`: session opening, token,
// batching of sends into ndjson POSTs, and the close codes of its failures.

import assert from "node:assert/strict";
import { test } from "node:test";
import { LongPoll } from "../src/embercast.js";

const WS_URL = "ws://example.test/socket/websocket?user=ann&vsn=2.0.0";

/**
 * Replaces `fetch` for the test. Requests queue up; `next()` resolves with
 * the oldest unanswered one: `{method, url, headers, body, respond(json), fail()}`.
 */
function scriptedFetch(t) {
  const waiting = [];
  const queued = [];
  const all = [];
  t.mock.method(globalThis, "fetch", (url, init = {}) => {
    return new Promise((resolve, reject) => {
      const request = {
        method: init.method || "GET",
        url,
        headers: init.headers || {},
        body: init.body,
        respond: (json) => resolve(new Response(JSON.stringify(json), { status: 200 })),
        fail: () => reject(new TypeError("fetch failed")),
      };
      init.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      all.push(request);
      if (waiting.length) waiting.shift()(request);
      else queued.push(request);
    });
  });
  return {
    all,
    next() {
      if (queued.length) return Promise.resolve(queued.shift());
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
}

/** A LongPoll with its events recorded. */
function longPoll(protocols) {
  const lp = new LongPoll(WS_URL, protocols);
  const events = { opens: 0, errors: [], closes: [], messages: [] };
  lp.onopen = () => (events.opens += 1);
  lp.onerror = (e) => events.errors.push(e);
  lp.onclose = (e) => events.closes.push(e);
  lp.onmessage = (e) => events.messages.push(e.data);
  return { lp, events };
}

/** Opens a session: answers the first GET with 410 + token, returns the next poll. */
async function openSession(http, lp, token = "TKN") {
  const first = await http.next();
  assert.equal(first.method, "GET");
  assert.equal(first.url, "http://example.test/socket/longpoll?user=ann&vsn=2.0.0", "no session token yet");
  first.respond({ status: 410, token, messages: [] });
  const poll = await http.next();
  assert.equal(lp.readyState, 1);
  return poll;
}

test("the endpoint: ws→http, wss→https, /websocket→/longpoll, query kept", () => {
  const lp = Object.create(LongPoll.prototype);
  assert.equal(lp.normalizeEndpoint("wss://h.test/socket/websocket?a=1"), "https://h.test/socket/longpoll?a=1");
  assert.equal(lp.normalizeEndpoint("ws://h.test/ws/websocket"), "http://h.test/ws/longpoll");
});

test("session: 410 + token opens; later requests carry the token; messages are delivered in order", async (t) => {
  const http = scriptedFetch(t);
  const { lp, events } = longPoll(["phoenix", `base64url.bearer.phx.${btoa("s3cret").replace(/=/g, "")}`]);
  const poll = await openSession(http, lp);
  assert.equal(events.opens, 1);
  assert.equal(poll.url, "http://example.test/socket/longpoll?user=ann&vsn=2.0.0&token=TKN");
  assert.equal(poll.headers["X-Phoenix-AuthToken"], "s3cret", "the auth token goes in a header on GETs");
  poll.respond({ status: 200, token: "TKN", messages: ["[1]", "[2]"] });
  const idle = await http.next();
  assert.deepEqual(events.messages, ["[1]", "[2]"]);
  idle.respond({ status: 204, token: "TKN", messages: [] });
  (await http.next()).respond({ status: 204, token: "TKN", messages: [] });
  await http.next();
  assert.deepEqual(events.closes, []);
  lp.close(1000, "bye");
  assert.deepEqual(events.closes, [{ code: 1000, reason: "bye", wasClean: true }]);
});

test("sends of one tick are one ndjson POST; sends during a POST wait for the next; 100 lines at most", async (t) => {
  const http = scriptedFetch(t);
  const { lp } = longPoll();
  await openSession(http, lp);
  lp.send('["a"]');
  lp.send(new Uint8Array([0, 1, 2, 255]).buffer);
  lp.send('["b"]');
  const post = await http.next();
  assert.equal(post.method, "POST");
  assert.equal(post.headers["Content-Type"], "application/x-ndjson");
  assert.equal(post.body, '["a"]\nAAEC/w==\n["b"]', "binary frames travel as base64 lines");
  for (let i = 0; i < 150; i += 1) lp.send(`[${i}]`);
  post.respond({ status: 200 });
  const second = await http.next();
  assert.deepEqual(second.body.split("\n"), Array.from({ length: 100 }, (_, i) => `[${i}]`));
  lp.send('["later"]');
  second.respond({ status: 200 });
  const third = await http.next();
  assert.deepEqual(third.body.split("\n"), [...Array.from({ length: 50 }, (_, i) => `[${100 + i}]`), '["later"]']);
  third.respond({ status: 200 });
  lp.close();
});

test("410 while holding a token: the session is gone (error 410, close 3410)", async (t) => {
  const http = scriptedFetch(t);
  const { lp, events } = longPoll();
  const poll = await openSession(http, lp);
  poll.respond({ status: 410, token: "NEW", messages: [] });
  await waitUntil(() => events.closes.length > 0);
  assert.deepEqual(events.errors, [410]);
  assert.deepEqual(events.closes, [{ code: 3410, reason: "session_gone", wasClean: false }]);
  assert.equal(lp.readyState, 3);
});

test("403 closes with 1008; a network failure or a failed POST with 1011", async (t) => {
  const http = scriptedFetch(t);
  {
    const { lp, events } = longPoll();
    (await http.next()).respond({ status: 403 });
    await waitUntil(() => events.closes.length > 0);
    assert.deepEqual([events.errors, events.closes[0].code], [[403], 1008]);
    assert.equal(lp.readyState, 3);
  }
  {
    const { lp, events } = longPoll();
    (await openSession(http, lp)).fail();
    await waitUntil(() => events.closes.length > 0);
    assert.deepEqual([events.errors, events.closes[0].code], [[500], 1011]);
  }
  {
    const { lp, events } = longPoll();
    const poll = await openSession(http, lp);
    lp.send('["x"]');
    const post = await http.next();
    post.respond({ status: 410 });
    await waitUntil(() => events.closes.length > 0);
    assert.deepEqual([events.errors, events.closes[0].code], [[410], 1011]);
    poll.respond({ status: 200, token: "TKN", messages: ["[1]"] });
    assert.deepEqual(events.messages, [], "nothing is delivered once closed");
  }
});

test("a request that outlives `timeout` reports 'timeout' and closes with 1005", async (t) => {
  const http = scriptedFetch(t);
  const { lp, events } = longPoll();
  lp.timeout = 50;
  await http.next(); // never answered
  await waitUntil(() => events.closes.length > 0, 2000);
  assert.deepEqual(events.errors, ["timeout"]);
  assert.deepEqual(events.closes, [{ code: 1005, reason: "timeout", wasClean: false }]);
});

/** Polls `predicate` until true, or fails after `ms`. */
async function waitUntil(predicate, ms = 1000) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms: ${predicate}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
