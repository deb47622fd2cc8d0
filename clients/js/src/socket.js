// The Socket: one connection (WebSocket or LongPoll) multiplexing channels.
// It reconnects by itself after any close it did not ask for, with backoff
// and jitter, and its channels rejoin once it is open again.

import {
  AUTH_TOKEN_PREFIX,
  CHANNEL_EVENTS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_LONGPOLLER_TIMEOUT,
  DEFAULT_TIMEOUT,
  DEFAULT_VSN,
  PHOENIX_TOPIC,
  SOCKET_STATES,
  TRANSPORTS,
  WS_CLOSE_NORMAL,
  closure,
} from "./constants.js";
import { encodeToken } from "./base64.js";
import { Channel } from "./channel.js";
import { Fallback } from "./fallback.js";
import { LongPoll } from "./longpoll.js";
import { watchPage } from "./page.js";
import { appendParams } from "./params.js";
import { Serializer, SerializerV1 } from "./serializer.js";
import { backoff, RECONNECT_MAX_MS, RECONNECT_STEPS_MS, REJOIN_MAX_MS, REJOIN_STEPS_MS, Timer } from "./timer.js";

// How long teardown waits for outgoing data to drain and for the close
// handshake before it stops waiting (ms).
const TEARDOWN_WAIT_MS = 1000;
const TEARDOWN_POLL_MS = 25;

// What the socket knows about each transport instance it created: its URL,
// whether it opened and whether its close was handled (a close is handled once).
const connections = new WeakMap();
function connState(conn) {
  let state = connections.get(conn);
  if (!state) {
    state = { url: null, opened: false, closed: false };
    connections.set(conn, state);
  }
  return state;
}

export class Socket {
  /**
   * @param {string} endPoint e.g. "/socket", "//host/socket", "wss://host/socket"
   * @param {object} [opts] the options of phoenix.js 1.8 (see embercast.d.ts)
   */
  constructor(endPoint, opts = {}) {
    this.stateChangeCallbacks = { open: [], close: [], error: [], message: [] };
    this.channels = [];
    this.sendBuffer = [];
    this.ref = 0;
    this.timeout = opts.timeout || DEFAULT_TIMEOUT;
    this.transport = opts.transport || globalThis.WebSocket || LongPoll;
    this.primaryPassedHealthCheck = false;
    this.longPollFallbackMs = opts.longPollFallbackMs;
    this.fallback = null;
    this.sessionStore = opts.sessionStorage || globalThis.sessionStorage;
    this.establishedConnections = 0;
    const v1 = String(opts.vsn || DEFAULT_VSN).startsWith("1.");
    this.defaultEncoder = (v1 ? SerializerV1 : Serializer).encode;
    this.defaultDecoder = (v1 ? SerializerV1 : Serializer).decode;
    this.customEncoder = opts.encode || null;
    this.customDecoder = opts.decode || null;
    this.encode = this.customEncoder || this.defaultEncoder;
    this.decode = this.customDecoder || this.defaultDecoder;
    this.closeWasClean = false;
    this.disconnecting = false;
    this.binaryType = opts.binaryType || "arraybuffer";
    this.conn = null;
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs || DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.heartbeatTimer = null;
    this.heartbeatTimeoutTimer = null;
    this.pendingHeartbeatRef = null;
    this.rejoinAfterMs = opts.rejoinAfterMs || backoff(REJOIN_STEPS_MS, { max: REJOIN_MAX_MS });
    this.reconnectAfterMs = opts.reconnectAfterMs || backoff(RECONNECT_STEPS_MS, { max: RECONNECT_MAX_MS });
    this.logger = opts.logger || (opts.debug ? (kind, msg, data) => console.log(`${kind}: ${msg}`, data) : null);
    this.longpollerTimeout = opts.longpollerTimeout || DEFAULT_LONGPOLLER_TIMEOUT;
    this.params = closure(opts.params || {});
    this.endPoint = `${endPoint}/${TRANSPORTS.websocket}`;
    this.vsn = opts.vsn || DEFAULT_VSN;
    this.authToken = opts.authToken;
    this.pageHidden = false;
    this.reconnectTimer = new Timer(() => this.reconnect(), this.reconnectAfterMs);
    watchPage(this);
  }

  /** The LongPoll class (the fallback transport). */
  getLongPollTransport() {
    return LongPoll;
  }

  /** Closes the current connection without reconnecting and uses `newTransport` from now on. */
  replaceTransport(newTransport) {
    this.reconnectTimer.reset();
    this.closeWasClean = true;
    this.teardown();
    this.transport = newTransport;
  }

  /** "wss" on https pages, else "ws". */
  protocol() {
    const location = globalThis.location;
    return location && /^https/.test(location.protocol) ? "wss" : "ws";
  }

  /** The WebSocket URL with the current params and `vsn`. */
  endPointURL() {
    const url = appendParams(appendParams(this.endPoint, this.params()), { vsn: this.vsn });
    if (url.charAt(0) !== "/") return url;
    if (url.charAt(1) === "/") return `${this.protocol()}:${url}`;
    return `${this.protocol()}://${globalThis.location.host}${url}`;
  }

  /**
   * Closes the connection and does not reconnect. `callback` runs once the
   * close is done (the close handshake is not awaited longer than 1 s).
   */
  disconnect(callback, code, reason) {
    this.closeWasClean = true;
    this.reconnectTimer.reset();
    if (this.fallback) this.fallback.cancel();
    this.disconnecting = true;
    this.teardown(() => {
      this.disconnecting = false;
      if (callback) callback();
    }, code, reason);
  }

  /**
   * Connects, unless a connection exists. Params (and authToken) given as
   * functions are evaluated again on every connection attempt.
   */
  connect(params) {
    if (params) {
      console.log("passing params to connect is deprecated. Instead pass :params to the Socket constructor");
      this.params = closure(params);
    }
    if (this.conn) return;
    this.closeWasClean = false;
    if (this.longPollFallbackMs && this.transport !== LongPoll) {
      this.fallback = this.fallback || new Fallback(this, LongPoll, this.longPollFallbackMs);
      this.fallback.connect();
    } else {
      this.transportConnect();
    }
  }

  log(kind, msg, data) {
    if (this.logger) this.logger(kind, msg, data);
  }

  hasLogger() {
    return this.logger !== null;
  }

  onOpen(callback) {
    return this.addCallback("open", callback);
  }
  onClose(callback) {
    return this.addCallback("close", callback);
  }
  onError(callback) {
    return this.addCallback("error", callback);
  }
  onMessage(callback) {
    return this.addCallback("message", callback);
  }

  /** @internal */
  addCallback(kind, callback) {
    const ref = this.makeRef();
    this.stateChangeCallbacks[kind].push([ref, callback]);
    return ref;
  }

  /** Removes the callbacks registered under `refs` (from onOpen, onClose, …). */
  off(refs) {
    for (const kind of Object.keys(this.stateChangeCallbacks)) {
      this.stateChangeCallbacks[kind] = this.stateChangeCallbacks[kind].filter(([ref]) => !refs.includes(ref));
    }
  }

  /**
   * Sends a heartbeat and calls `callback(rttMs)` when it is answered.
   * Returns false (and sends nothing) when not connected.
   */
  ping(callback) {
    if (!this.isConnected()) return false;
    const ref = this.makeRef();
    const startedAt = Date.now();
    this.push({ topic: PHOENIX_TOPIC, event: "heartbeat", payload: {}, ref });
    const onMessageRef = this.onMessage((msg) => {
      if (msg.ref === ref) {
        this.off([onMessageRef]);
        callback(Date.now() - startedAt);
      }
    });
    return true;
  }

  /** Opens a connection with the current transport. @internal */
  transportConnect() {
    this.closeWasClean = false;
    const token = typeof this.authToken === "function" ? this.authToken() : this.authToken;
    const protocols = token ? ["phoenix", `${AUTH_TOKEN_PREFIX}${encodeToken(token)}`] : undefined;
    const usesLongPoll = this.transport === LongPoll;
    // Frames over LongPoll travel in JSON bodies: always the default serializer.
    this.encode = usesLongPoll ? this.defaultEncoder : this.customEncoder || this.defaultEncoder;
    this.decode = usesLongPoll ? this.defaultDecoder : this.customDecoder || this.defaultDecoder;
    const url = this.endPointURL();
    const conn = new this.transport(url, protocols);
    connState(conn).url = url;
    this.conn = conn;
    conn.binaryType = this.binaryType;
    conn.timeout = this.longpollerTimeout;
    // Events of a connection that is no longer ours are ignored (a late close
    // or message of a torn-down transport must not touch the new one).
    conn.onopen = () => this.conn === conn && this.onConnOpen();
    conn.onerror = (error) => this.conn === conn && this.onConnError(error);
    conn.onmessage = (event) => this.conn === conn && this.onConnMessage(event);
    conn.onclose = (event) => this.onConnClose(conn, event);
  }

  /** "connecting", "open", "closing" or "closed". */
  connectionState() {
    switch (this.conn && this.conn.readyState) {
      case SOCKET_STATES.connecting:
        return "connecting";
      case SOCKET_STATES.open:
        return "open";
      case SOCKET_STATES.closing:
        return "closing";
      default:
        return "closed";
    }
  }

  isConnected() {
    return this.connectionState() === "open";
  }

  /** Forgets `channel` (after it closed). @internal */
  remove(channel) {
    this.off(channel.stateChangeRefs);
    this.channels = this.channels.filter((c) => c !== channel);
  }

  /** A new Channel for `topic` on this socket; join it with `channel.join()`. */
  channel(topic, chanParams = {}) {
    const channel = new Channel(topic, chanParams, this);
    this.channels.push(channel);
    return channel;
  }

  /**
   * Sends a message `{topic, event, payload, ref, join_ref}`, or buffers it
   * until the connection opens.
   */
  push(data) {
    if (this.hasLogger()) {
      const { topic, event, payload, ref, join_ref } = data;
      this.log("push", `${topic} ${event} (${join_ref}, ${ref})`, payload);
    }
    if (this.isConnected()) {
      this.encode(data, (frame) => this.conn.send(frame));
    } else {
      this.sendBuffer.push(data);
    }
  }

  /** The next ref: a decimal string, unique per socket. */
  makeRef() {
    const next = this.ref + 1;
    this.ref = Number.isSafeInteger(next) ? next : 0;
    return String(this.ref);
  }

  /** @internal */
  sendHeartbeat() {
    if (!this.isConnected()) return;
    this.pendingHeartbeatRef = this.makeRef();
    this.push({ topic: PHOENIX_TOPIC, event: "heartbeat", payload: {}, ref: this.pendingHeartbeatRef });
    this.heartbeatTimeoutTimer = setTimeout(() => this.heartbeatTimeout(), this.heartbeatIntervalMs);
  }

  /** The heartbeat was not answered in time: the connection is dead, make a new one. @internal */
  heartbeatTimeout() {
    if (!this.pendingHeartbeatRef) return;
    this.pendingHeartbeatRef = null;
    this.log("transport", "heartbeat timeout, reconnecting");
    this.triggerChanError("heartbeat_timeout");
    this.teardown(null, WS_CLOSE_NORMAL, "heartbeat timeout");
    this.reconnectTimer.scheduleTimeout();
  }

  /** @internal */
  resetHeartbeat() {
    this.clearHeartbeats();
    if (this.conn && this.conn.skipHeartbeat) return;
    this.heartbeatTimer = setTimeout(() => this.sendHeartbeat(), this.heartbeatIntervalMs);
  }

  /** @internal */
  clearHeartbeats() {
    clearTimeout(this.heartbeatTimer);
    clearTimeout(this.heartbeatTimeoutTimer);
    this.heartbeatTimer = null;
    this.heartbeatTimeoutTimer = null;
    this.pendingHeartbeatRef = null;
  }

  /** @internal */
  onConnOpen() {
    const state = connState(this.conn);
    state.opened = true;
    this.log("transport", `connected to ${state.url}`);
    this.closeWasClean = false;
    this.establishedConnections += 1;
    this.flushSendBuffer();
    this.reconnectTimer.reset();
    this.resetHeartbeat();
    if (this.fallback) this.fallback.onOpen();
    for (const [, callback] of this.stateChangeCallbacks.open) callback();
  }

  /** @internal */
  onConnError(error) {
    this.log("transport", "error", error);
    const transportBefore = this.transport;
    const establishedBefore = this.establishedConnections;
    for (const [, callback] of this.stateChangeCallbacks.error) callback(error, transportBefore, establishedBefore);
    const fellBack = this.fallback ? this.fallback.onError(error) : false;
    if (!fellBack || establishedBefore > 0) this.triggerChanError("connection_error");
  }

  /** @internal */
  onConnClose(conn, event) {
    const state = connState(conn);
    if (state.closed) return;
    state.closed = true;
    this.log("transport", "close", event);
    // A connection we tore down had its channels errored then; one that
    // closed by itself (server gone, network lost) has it done now.
    if (this.conn === conn) {
      this.triggerChanError("connection_closed");
      this.clearHeartbeats();
      if (!this.closeWasClean) this.reconnectTimer.scheduleTimeout();
    }
    for (const [, callback] of this.stateChangeCallbacks.close) callback(event);
  }

  /** @internal */
  onConnMessage(rawMessage) {
    this.decode(rawMessage.data, (msg) => {
      const { topic, event, payload, ref, join_ref } = msg;
      if (ref && ref === this.pendingHeartbeatRef) {
        clearTimeout(this.heartbeatTimeoutTimer);
        this.pendingHeartbeatRef = null;
        this.heartbeatTimer = setTimeout(() => this.sendHeartbeat(), this.heartbeatIntervalMs);
      }
      if (this.hasLogger()) this.log("receive", `${payload && payload.status ? payload.status + " " : ""}${topic} ${event} ${ref ? `(${ref})` : ""}`, payload);
      for (const channel of this.channels.slice()) {
        if (channel.isMember(topic, event, payload, join_ref)) channel.trigger(event, payload, ref, join_ref);
      }
      for (const [, callback] of this.stateChangeCallbacks.message) callback(msg);
    });
  }

  /** Errors every channel that is not already errored, leaving or closed. @internal */
  triggerChanError(reason) {
    for (const channel of this.channels.slice()) {
      if (!(channel.isErrored() || channel.isLeaving() || channel.isClosed())) {
        channel.trigger(CHANNEL_EVENTS.error, { source: "transport", reason });
      }
    }
  }

  /**
   * Makes `channel` the only joined or joining Channel object of `topic`: an
   * older one leaves first. @internal
   */
  leaveOpenTopic(topic, channel) {
    const duplicate = this.channels.find((c) => c !== channel && c.topic === topic && (c.isJoined() || c.isJoining()));
    if (duplicate) {
      this.log("transport", `leaving duplicate topic "${topic}"`);
      duplicate.leave();
    }
  }

  /**
   * Sends what was pushed while disconnected, in order. Frames of a join that
   * is no longer current (a channel that errored, left or rejoined since) are
   * dropped: the server would ignore them, or join twice. @internal
   */
  flushSendBuffer() {
    if (!this.isConnected() || this.sendBuffer.length === 0) return;
    const buffered = this.sendBuffer;
    this.sendBuffer = [];
    for (const data of buffered) {
      const current =
        !data.join_ref || this.channels.some((c) => c.topic === data.topic && c.joinRef() === data.join_ref);
      if (current) this.push(data);
      else this.log("push", `dropping outdated ${data.topic} ${data.event} (${data.join_ref}, ${data.ref})`);
    }
  }

  /** The reconnect timer fired. @internal */
  reconnect() {
    if (this.pageHidden) {
      // Browsers throttle hidden pages; reconnect when the page is visible again.
      this.log("transport", "page hidden, reconnect deferred");
      return;
    }
    if (this.conn && this.connectionState() !== "closed") return;
    this.teardown(() => this.connect());
  }

  /**
   * Detaches the current connection and closes it (with `code`, `reason`),
   * erroring its channels. `callback` runs once it has closed, or after
   * TEARDOWN_WAIT_MS. @internal
   */
  teardown(callback, code, reason) {
    const conn = this.conn;
    const done = () => callback && callback();
    if (!conn) return done();
    this.conn = null;
    const state = connState(conn);
    if (state.closed) return done();
    this.clearHeartbeats();
    // Channels joined over it are errored now; channels waiting for a first
    // open keep their buffered join for the next connection.
    if (state.opened) this.triggerChanError("connection_closed");
    const deadline = Date.now() + TEARDOWN_WAIT_MS;
    const waitUntil = (condition, then) => {
      if (condition() || Date.now() >= deadline) return then();
      setTimeout(() => waitUntil(condition, then), TEARDOWN_POLL_MS);
    };
    waitUntil(
      () => !conn.bufferedAmount,
      () => {
        if (code) conn.close(code, reason || "");
        else conn.close();
        waitUntil(
          () => state.closed,
          () => {
            // No close event in time (a dead network): report the close ourselves.
            this.onConnClose(conn, { code: code || WS_CLOSE_NORMAL, reason: reason || "", wasClean: false });
            done();
          },
        );
      },
    );
  }
}
