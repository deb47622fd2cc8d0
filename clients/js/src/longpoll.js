// The LongPoll transport: a WebSocket look-alike over HTTP (`fetch`). One GET
// is held open at a time to receive frames; frames to send are batched into
// ndjson POSTs. The server answers every request with HTTP 200 and the real
// status in the JSON body (§7 of the protocol notes).

import { AUTH_TOKEN_PREFIX, DEFAULT_LONGPOLLER_TIMEOUT, SOCKET_STATES, TRANSPORTS } from "./constants.js";
import { decodeToken, encodeBase64 } from "./base64.js";
import { bytesOf, isBinary } from "./serializer.js";

/** Lines per POST: the server reads at most 100 lines of one request. */
export const MAX_BATCH_LINES = 100;

const CLOSE = Object.freeze({
  policy: [1008, "forbidden"],
  error: [1011, "internal server error"],
  timeout: [1005, "timeout"],
  sessionGone: [3410, "session_gone"],
});

export class LongPoll {
  /**
   * @param {string} endPoint the WebSocket URL (`ws://host/socket/websocket?…`);
   *   LongPoll talks to `http://host/socket/longpoll?…`
   * @param {string[]} [protocols] as given to a WebSocket; only the auth
   *   token subprotocol is used (sent as the X-Phoenix-AuthToken header)
   */
  constructor(endPoint, protocols) {
    this.authToken = null;
    const tokenProtocol = (protocols || []).find((p) => p.startsWith(AUTH_TOKEN_PREFIX));
    if (tokenProtocol) this.authToken = decodeToken(tokenProtocol.slice(AUTH_TOKEN_PREFIX.length));
    this.endPoint = null;
    this.token = null;
    this.skipHeartbeat = true;
    this.timeout = DEFAULT_LONGPOLLER_TIMEOUT;
    this.binaryType = "arraybuffer";
    this.reqs = new Set();
    this.awaitingBatchAck = false;
    this.currentBatch = null;
    this.currentBatchTimer = null;
    this.batchBuffer = [];
    this.onopen = () => {};
    this.onerror = () => {};
    this.onmessage = () => {};
    this.onclose = () => {};
    this.pollEndpoint = this.normalizeEndpoint(endPoint);
    this.readyState = SOCKET_STATES.connecting;
    // The owner sets its callbacks and `timeout` after construction.
    setTimeout(() => this.poll(), 0);
  }

  /** `ws(s)://…/websocket?q` → `http(s)://…/longpoll?q`. */
  normalizeEndpoint(endPoint) {
    const [path, ...query] = endPoint.split("?");
    const http = path
      .replace(/^ws(s?):/i, "http$1:")
      .replace(new RegExp(`/${TRANSPORTS.websocket}$`), `/${TRANSPORTS.longpoll}`);
    return query.length ? `${http}?${query.join("?")}` : http;
  }

  /** The poll URL with the session token (last `token` param) once there is one. */
  endpointURL() {
    if (!this.token) return this.pollEndpoint;
    const separator = this.pollEndpoint.includes("?") ? "&" : "?";
    return `${this.pollEndpoint}${separator}token=${encodeURIComponent(this.token)}`;
  }

  isActive() {
    return this.readyState === SOCKET_STATES.open || this.readyState === SOCKET_STATES.connecting;
  }

  poll() {
    const headers = { Accept: "application/json" };
    if (this.authToken) headers["X-Phoenix-AuthToken"] = this.authToken;
    const hadToken = !!this.token;
    this.ajax("GET", headers, null, (resp) => {
      const status = resp && typeof resp.status === "number" ? resp.status : 0;
      switch (status) {
        case 200:
          this.token = resp.token;
          for (const data of resp.messages || []) {
            if (!this.isActive()) return;
            this.dispatch(data);
          }
          this.poll();
          return;
        case 204:
          this.token = resp.token;
          this.poll();
          return;
        case 410:
          if (hadToken) {
            // Our session is gone (timed out, server restarted, disconnected):
            // the socket reconnects with a new LongPoll and rejoins.
            this.onerror(410);
            this.close(...CLOSE.sessionGone, false);
            return;
          }
          this.token = resp.token;
          this.readyState = SOCKET_STATES.open;
          this.onopen({});
          this.poll();
          return;
        case 403:
          this.onerror(403);
          this.close(...CLOSE.policy, false);
          return;
        default:
          // 0 = network failure or unreadable answer; 500; anything else.
          this.onerror(status || 500);
          this.close(...CLOSE.error, false);
      }
    });
  }

  /** Delivers one frame; an exception in a handler must not lose the frames after it. */
  dispatch(data) {
    try {
      this.onmessage({ data });
    } catch (err) {
      setTimeout(() => {
        throw err;
      }, 0);
    }
  }

  /**
   * Queues a frame. Frames sent in the same tick travel in one POST; frames
   * sent while a POST is in flight go in the next one, in order.
   */
  send(body) {
    const line = isBinary(body) ? encodeBase64(bytesOf(body)) : body;
    if (this.currentBatch) {
      this.currentBatch.push(line);
    } else if (this.awaitingBatchAck) {
      this.batchBuffer.push(line);
    } else {
      this.currentBatch = [line];
      this.currentBatchTimer = setTimeout(() => {
        const batch = this.currentBatch;
        this.currentBatch = null;
        this.currentBatchTimer = null;
        this.batchSend(batch);
      }, 0);
    }
  }

  /** POSTs `lines` in requests of at most MAX_BATCH_LINES, one after another. */
  batchSend(lines) {
    this.awaitingBatchAck = true;
    const chunk = lines.slice(0, MAX_BATCH_LINES);
    const rest = lines.slice(MAX_BATCH_LINES).concat(this.batchBuffer);
    this.batchBuffer = [];
    this.ajax("POST", { "Content-Type": "application/x-ndjson" }, chunk.join("\n"), (resp) => {
      if (!resp || resp.status !== 200) {
        this.onerror(resp && resp.status);
        this.close(...CLOSE.error, false);
        return;
      }
      this.awaitingBatchAck = false;
      const next = rest.concat(this.batchBuffer);
      this.batchBuffer = [];
      if (next.length > 0) this.batchSend(next);
    });
  }

  /** Ends the transport; `onclose({code, reason, wasClean})` is called once. */
  close(code, reason, wasClean) {
    if (this.readyState === SOCKET_STATES.closed) return;
    this.readyState = SOCKET_STATES.closed;
    for (const controller of this.reqs) controller.abort();
    this.reqs.clear();
    this.batchBuffer = [];
    this.currentBatch = null;
    clearTimeout(this.currentBatchTimer);
    this.currentBatchTimer = null;
    this.onclose({ code: code ?? 1005, reason: reason ?? "", wasClean: wasClean ?? true });
  }

  /** A request timed out: report it and give up this session (the socket reconnects). */
  ontimeout() {
    this.onerror("timeout");
    this.close(...CLOSE.timeout, false);
  }

  /**
   * One HTTP request with the `timeout`. `callback` gets the parsed JSON body,
   * or null on a network error or an unreadable body. Nothing is called once
   * the transport is closed.
   */
  ajax(method, headers, body, callback) {
    const controller = new AbortController();
    this.reqs.add(controller);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeout);
    const done = (resp) => {
      clearTimeout(timer);
      this.reqs.delete(controller);
      if (!this.isActive()) return;
      if (timedOut) this.ontimeout();
      else callback(resp);
    };
    // `fetch` is looked up on every request, so it can be wrapped or replaced.
    globalThis
      .fetch(this.endpointURL(), { method, headers, body, signal: controller.signal })
      .then((response) => response.text())
      .then(
        (text) => {
          let parsed = null;
          try {
            parsed = JSON.parse(text);
          } catch {
            // an unreadable body counts as a failed request
          }
          done(parsed);
        },
        () => done(null),
      );
  }
}
