// Type declarations of the `embercast` client: the phoenix.js 1.8 API.

export type Payload = object | ArrayBuffer;
export type Params = Record<string, unknown>;
export type Logger = (kind: string, msg: string, data?: unknown) => void;

/** A decoded message as the socket routes it. */
export interface Message<T = any> {
  join_ref: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: T;
}

export interface SerializerLike {
  encode(msg: Message, callback: (frame: string | ArrayBuffer) => void): void;
  decode(raw: string | ArrayBuffer, callback: (msg: Message) => void): void;
}

/**
 * What `new Socket(url, {transport})` constructs: the part of the WebSocket
 * interface the socket uses (a browser WebSocket, the `ws` package, LongPoll).
 * The socket sets the `on*` handlers: `onmessage({data})`, `onclose({code, reason, wasClean})`.
 */
export interface TransportInstance {
  readyState: number;
  binaryType?: string;
  timeout?: number;
  skipHeartbeat?: boolean;
  bufferedAmount?: number;
  onopen: any;
  onerror: any;
  onmessage: any;
  onclose: any;
  send(data: any): void;
  close(code?: number, reason?: string): void;
}
export type TransportConstructor = new (url: string, protocols?: string[]) => TransportInstance;

export interface CloseEventLike {
  code: number;
  reason: string;
  wasClean: boolean;
}

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface SocketOptions {
  /** WebSocket implementation or LongPoll; default: global WebSocket if any, else LongPoll. */
  transport?: TransportConstructor;
  /** Try the transport first and fall back to LongPoll if it fails within this many ms. */
  longPollFallbackMs?: number;
  /** Timeout of one LongPoll request (ms, default 20000). */
  longpollerTimeout?: number;
  /** Push and join timeout (ms, default 10000). */
  timeout?: number;
  heartbeatIntervalMs?: number;
  /** Delay before reconnect attempt `tries` (default: phoenix.js's schedule with ±50 % jitter). */
  reconnectAfterMs?: (tries: number) => number;
  /** Delay before rejoin attempt `tries` (default: phoenix.js's schedule with ±50 % jitter). */
  rejoinAfterMs?: (tries: number) => number;
  logger?: Logger;
  /** Log to the console when no logger is given. */
  debug?: boolean;
  /** Connect params; a function is called again on every connection attempt. */
  params?: Params | (() => Params);
  /** Sent in the WebSocket subprotocol (or a LongPoll header); a function is called on every attempt. */
  authToken?: string | (() => string | null | undefined);
  /** "2.0.0" (default) or "1.0.0" (then the V1 serializer is the default). */
  vsn?: string;
  binaryType?: string;
  encode?: SerializerLike["encode"];
  decode?: SerializerLike["decode"];
  /** Where a LongPoll fallback is remembered (default: globalThis.sessionStorage). */
  sessionStorage?: StorageLike;
}

export type ConnectionState = "connecting" | "open" | "closing" | "closed";

export class Socket {
  constructor(endPoint: string, opts?: SocketOptions);
  channels: Channel[];
  conn: TransportInstance | null;
  transport: TransportConstructor;
  timeout: number;
  vsn: string;
  primaryPassedHealthCheck: boolean;
  sessionStore: StorageLike | undefined;
  logger: Logger | null;
  params: () => Params;
  endPoint: string;
  reconnectAfterMs: (tries: number) => number;
  rejoinAfterMs: (tries: number) => number;

  connect(params?: Params): void;
  disconnect(callback?: () => void, code?: number, reason?: string): void;
  isConnected(): boolean;
  connectionState(): ConnectionState;
  endPointURL(): string;
  protocol(): "ws" | "wss";
  channel(topic: string, chanParams?: Params | (() => Params)): Channel;
  onOpen(callback: () => void): string;
  onClose(callback: (event: CloseEventLike) => void): string;
  onError(callback: (error: unknown, transport: TransportConstructor, establishedConnections: number) => void): string;
  onMessage(callback: (msg: Message) => void): string;
  off(refs: string[]): void;
  ping(callback: (rttMs: number) => void): boolean;
  push(data: Message): void;
  makeRef(): string;
  log(kind: string, msg: string, data?: unknown): void;
  hasLogger(): boolean;
  getLongPollTransport(): typeof LongPoll;
  replaceTransport(newTransport: TransportConstructor): void;
  remove(channel: Channel): void;
}

export type ChannelState = "closed" | "errored" | "joined" | "joining" | "leaving";

export class Channel {
  constructor(topic: string, params: Params | (() => Params) | undefined, socket: Socket);
  state: ChannelState;
  topic: string;
  socket: Socket;
  params: () => Params;
  timeout: number;
  joinPush: Push;

  join(timeout?: number): Push;
  leave(timeout?: number): Push;
  push(event: string, payload: Payload, timeout?: number): Push;
  on<T = any>(event: string, callback: (payload: T, ref: string | null, joinRef: string | null) => void): number;
  off(event: string, ref?: number): void;
  onClose(callback: (reason: unknown) => void): number;
  onError(callback: (reason: any) => void): number;
  /** Transforms incoming payloads before the callbacks see them; must return the payload. */
  onMessage(event: string, payload: any, ref: string | null): any;
  joinRef(): string | null;
  isClosed(): boolean;
  isErrored(): boolean;
  isJoined(): boolean;
  isJoining(): boolean;
  isLeaving(): boolean;
}

export type PushStatus = "ok" | "error" | "timeout";

export class Push {
  constructor(channel: Channel, event: string, payload: () => Payload, timeout: number);
  channel: Channel;
  event: string;
  ref: string | null;
  timeout: number;
  receive<T = any>(status: PushStatus | string, callback: (response: T) => void): this;
  send(): void;
  resend(timeout: number): void;
}

export interface PresenceMeta {
  phx_ref: string;
  phx_ref_prev?: string;
  [key: string]: unknown;
}
export interface PresenceEntry {
  metas: PresenceMeta[];
  [key: string]: unknown;
}
/** key → presence; a null-prototype object, so any key is safe. */
export type PresenceState = Record<string, PresenceEntry>;
export interface PresenceDiff {
  joins: PresenceState;
  leaves: PresenceState;
}
export type PresenceOnJoin = (key: string, current: PresenceEntry | undefined, joined: PresenceEntry) => void;
export type PresenceOnLeave = (key: string, current: PresenceEntry, left: PresenceEntry) => void;

export class Presence {
  constructor(channel: Channel, opts?: { events?: { state: string; diff: string } });
  state: PresenceState;
  onJoin(callback: PresenceOnJoin): void;
  onLeave(callback: PresenceOnLeave): void;
  onSync(callback: () => void): void;
  list<T = PresenceEntry>(chooser?: (key: string, presence: PresenceEntry) => T): T[];
  inPendingSyncState(): boolean;
  static syncState(current: PresenceState, next: PresenceState, onJoin?: PresenceOnJoin, onLeave?: PresenceOnLeave): PresenceState;
  static syncDiff(state: PresenceState, diff: PresenceDiff, onJoin?: PresenceOnJoin, onLeave?: PresenceOnLeave): PresenceState;
  static list<T = PresenceEntry>(presences: PresenceState, chooser?: (key: string, presence: PresenceEntry) => T): T[];
}

export class LongPoll implements TransportInstance {
  constructor(endPoint: string, protocols?: string[]);
  readyState: number;
  token: string | null;
  timeout: number;
  skipHeartbeat: true;
  onopen: (event?: unknown) => void;
  onerror: (error: unknown) => void;
  onmessage: (event: { data: string }) => void;
  onclose: (event: CloseEventLike) => void;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string, wasClean?: boolean): void;
}

/** The V2 serializer (default for vsn 2.0.0): JSON arrays, ArrayBuffer payloads as binary frames. */
export const Serializer: SerializerLike;
/** The V1 serializer (vsn 1.0.0): JSON objects, no binary. */
export const SerializerV1: SerializerLike;

/** Calls `callback` after `timerCalc(tries)` ms, counting tries until `reset()`. */
export class Timer {
  constructor(callback: () => void, timerCalc: (tries: number) => number);
  tries: number;
  reset(): void;
  scheduleTimeout(): void;
}

/**
 * `(tries) => ms`: `steps[tries - 1]`, then `max`, spread uniformly over
 * ±`jitter` (a fraction, default 0.5) of the step.
 */
export function backoff(
  steps: readonly number[],
  opts?: { max?: number; jitter?: number; random?: () => number },
): (tries: number) => number;
