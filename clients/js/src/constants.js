// Names and numbers of the Phoenix Channels protocol as the client sees them.

/** The protocol version sent as `vsn`; it selects the V2 serializer on the server. */
export const DEFAULT_VSN = "2.0.0";

/** Push and join timeout (ms). */
export const DEFAULT_TIMEOUT = 10000;

/** Interval between heartbeats, and how long one may stay unanswered (ms). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30000;

/** Timeout of one LongPoll HTTP request: twice the server's default poll window (ms). */
export const DEFAULT_LONGPOLLER_TIMEOUT = 20000;

/** Ready states shared by WebSocket and LongPoll. */
export const SOCKET_STATES = Object.freeze({ connecting: 0, open: 1, closing: 2, closed: 3 });

export const CHANNEL_STATES = Object.freeze({
  closed: "closed",
  errored: "errored",
  joined: "joined",
  joining: "joining",
  leaving: "leaving",
});

export const CHANNEL_EVENTS = Object.freeze({
  close: "phx_close",
  error: "phx_error",
  join: "phx_join",
  reply: "phx_reply",
  leave: "phx_leave",
});

export const TRANSPORTS = Object.freeze({ longpoll: "longpoll", websocket: "websocket" });

/** Topic of heartbeats. */
export const PHOENIX_TOPIC = "phoenix";

/**
 * Prefix of the WebSocket subprotocol that carries `authToken`: the server
 * decodes the rest as (standard alphabet, unpadded) base64.
 */
export const AUTH_TOKEN_PREFIX = "base64url.bearer.phx.";

/** Normal closure; also what a heartbeat timeout closes with. */
export const WS_CLOSE_NORMAL = 1000;

/** Returns `value` if it is a function, otherwise a function returning it. */
export function closure(value) {
  return typeof value === "function" ? value : () => value;
}
