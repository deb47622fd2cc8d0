// LongPoll session lifetime. A session lives while its client polls; once it
// is gone (no poll within --longpoll-timeout-ms, or a server restart), the
// client's next poll with the old token is answered 410, the client reports
// the session gone (close 3410 "session_gone"), opens a new session and its
// channels rejoin by themselves.
//
// A client that "stops polling" is simulated by holding back its GETs in the
// test's fetch wrapper, as a network pause would; whether the session has
// ended is asked with an empty POST, which does not count as a poll.

import assert from "node:assert/strict";
import { scenario } from "./support/harness.mjs";
import { open, replyOk } from "./support/client.mjs";
import {
  interceptFetch,
  joinRecorded,
  longPollSocket,
  probeSession,
  waitJoined,
  watchSocket,
} from "./support/longpoll.mjs";
import { WaitTimeoutError, waitFor } from "./support/wait.mjs";

/** Holds back the client's polls and waits until one is actually held. */
async function stopPolling(http, client) {
  http.hold((r) => r.method === "GET" && r.client === client);
  await waitFor(() => http.heldCount >= 1, { what: `a poll of ${client} to be held back` });
}

/** After the session is gone and the polls resume: 410 for the old token, new session, rejoin, ping. */
async function expectRecovery({ http, socket, channel, joinOks, events, oldToken }) {
  const oldTokenPoll = await waitFor(
    () => http.records.find((r) => r.method === "GET" && r.token === oldToken && r.status === 410),
    { what: "the poll with the old token to be answered 410" },
  );
  assert.notEqual(oldTokenPoll.response.token, oldToken, "a 410 never hands back the dead session's token");

  await waitFor(() => events.opens >= 2 && socket.isConnected(), {
    what: () => `a new session (opens=${events.opens}, state=${socket.connectionState()})`,
  });
  assert.deepEqual(events.errors.slice(0, 1), [410], "onError(410): the session is gone");
  assert.deepEqual(events.closes.slice(0, 1), [{ code: 3410, reason: "session_gone", wasClean: false }]);
  assert.notEqual(socket.conn.token, oldToken, "the new session has a new token");

  await waitJoined(channel, joinOks, 2);
  assert.notEqual(joinOks[1].joinRef, joinOks[0].joinRef, "the rejoin uses a new join_ref");
  assert.deepEqual(await replyOk(channel.push("ping", { after: "session gone" })), { after: "session gone" });
}

scenario("LongPoll: a client that keeps polling keeps its session past the window", async (h, _client, t) => {
  const http = interceptFetch(t);
  const server = await h.startServer({ args: ["--longpoll-window-ms", "200", "--longpoll-timeout-ms", "1000"] });
  const socket = longPollSocket(h, server, "alice");
  const events = watchSocket(socket);
  await open(socket);
  const token = socket.conn.token;
  const channel = socket.channel("room:idle", { name: "alice" });
  const joinOks = joinRecorded(channel);
  await waitJoined(channel, joinOks, 1);

  // Nothing to deliver: each poll is held for the window, then answered 204 with the same token.
  const idle = () => http.records.filter((r) => r.method === "GET" && r.status === 204);
  await waitFor(() => idle().length >= 6, { what: () => `6 empty polls (got ${idle().length})` });
  for (const r of idle()) {
    assert.equal(r.token, token);
    assert.deepEqual(r.response, { status: 204, token, messages: [] });
  }
  assert.equal(socket.conn.token, token);
  assert.deepEqual(await replyOk(channel.push("ping", { still: "here" })), { still: "here" });
  assert.equal(events.opens, 1);
  assert.deepEqual(events.closes, []);
  assert.equal(joinOks.length, 1, "no rejoin");
});

scenario("LongPoll: after the session times out the client gets 410, reconnects and rejoins", async (h, _client, t) => {
  const http = interceptFetch(t);
  const server = await h.startServer({ args: ["--longpoll-window-ms", "200", "--longpoll-timeout-ms", "500"] });
  const socket = longPollSocket(h, server, "alice");
  const events = watchSocket(socket);
  await open(socket);
  const oldToken = socket.conn.token;
  const channel = socket.channel("room:timeout", { name: "alice" });
  const joinOks = joinRecorded(channel);
  await waitJoined(channel, joinOks, 1);

  await stopPolling(http, "alice");
  await waitFor(async () => (await probeSession(http.original, server, oldToken)) === 410, {
    what: "the session to end for want of polls",
  });
  assert.equal(events.opens, 1, "the client noticed nothing yet");
  http.release();

  await expectRecovery({ http, socket, channel, joinOks, events, oldToken });
});

scenario("LongPoll: a token from before a server restart gets 410; the client reconnects and rejoins", async (h, _client, t) => {
  const http = interceptFetch(t);
  const server = await h.startServer({ args: ["--longpoll-window-ms", "200"] });
  const socket = longPollSocket(h, server, "alice");
  const events = watchSocket(socket);
  await open(socket);
  const oldToken = socket.conn.token;
  const channel = socket.channel("room:restart", { name: "alice" });
  const joinOks = joinRecorded(channel);
  await waitJoined(channel, joinOks, 1);

  await stopPolling(http, "alice");
  await server.restart();
  http.release();

  await expectRecovery({ http, socket, channel, joinOks, events, oldToken });
});

scenario(
  "LongPoll: a held poll keeps the session alive when the timeout is shorter than the window",
  async (h) => {
    // --longpoll-timeout-ms 500 with the default 10 s window: the client always
    // has a poll open, yet the server counts only the start and the end of a
    // poll as activity.
    const server = await h.startServer({ args: ["--longpoll-timeout-ms", "500"] });
    const socket = longPollSocket(h, server, "alice");
    const events = watchSocket(socket);
    await open(socket);
    const channel = socket.channel("room:held", { name: "alice" });
    const joinOks = joinRecorded(channel);
    await waitJoined(channel, joinOks, 1);

    // Observe for three session timeouts: the session must not end.
    const ended = await waitFor(() => events.closes.length > 0, {
      timeout: 1500,
      what: "the session to end (it should not)",
    }).catch((err) => {
      if (err instanceof WaitTimeoutError) return false;
      throw err;
    });
    assert.equal(
      ended,
      false,
      `the session ended while the client was polling: closes=${JSON.stringify(events.closes)} errors=${JSON.stringify(events.errors)}`,
    );
    assert.equal(joinOks.length, 1, "no rejoin");
  },
);
