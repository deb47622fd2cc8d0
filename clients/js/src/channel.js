// A channel: one topic joined over a Socket. States: closed → joining →
// joined / errored → leaving → closed. After an error (error reply, crash,
// join timeout, lost connection) it rejoins by itself with backoff, with a
// new join_ref; pushes made while it is not joined wait for the next join.

import { CHANNEL_EVENTS, CHANNEL_STATES, closure } from "./constants.js";
import { Push } from "./push.js";
import { Timer } from "./timer.js";

export class Channel {
  constructor(topic, params, socket) {
    this.state = CHANNEL_STATES.closed;
    this.topic = topic;
    this.params = closure(params || {});
    this.socket = socket;
    this.bindings = [];
    this.bindingRef = 0;
    this.timeout = this.socket.timeout;
    this.joinedOnce = false;
    this.joinPush = new Push(this, CHANNEL_EVENTS.join, this.params, this.timeout);
    this.pushBuffer = [];
    this.stateChangeRefs = [];
    this.rejoinTimer = new Timer(() => {
      if (this.socket.isConnected()) this.rejoin();
    }, this.socket.rejoinAfterMs);

    this.stateChangeRefs.push(this.socket.onError(() => this.rejoinTimer.reset()));
    this.stateChangeRefs.push(
      this.socket.onOpen(() => {
        this.rejoinTimer.reset();
        if (this.isErrored()) this.rejoin();
      }),
    );

    this.joinPush.receive("ok", () => {
      this.state = CHANNEL_STATES.joined;
      this.rejoinTimer.reset();
      const buffered = this.pushBuffer;
      this.pushBuffer = [];
      for (const push of buffered) push.send();
    });
    this.joinPush.receive("error", () => {
      this.state = CHANNEL_STATES.errored;
      this.scheduleRejoin();
    });
    this.joinPush.receive("timeout", () => {
      this.log("timeout", this.joinPush.timeout);
      // The server may still join late: tell it to drop that join.
      new Push(this, CHANNEL_EVENTS.leave, closure({}), this.timeout).send();
      this.state = CHANNEL_STATES.errored;
      this.joinPush.reset();
      this.scheduleRejoin();
    });

    this.onClose(() => {
      this.rejoinTimer.reset();
      this.log("close", this.joinRef());
      this.state = CHANNEL_STATES.closed;
      this.socket.remove(this);
    });
    this.onError((reason) => {
      this.log("error", reason);
      if (this.isJoining()) this.joinPush.reset();
      this.state = CHANNEL_STATES.errored;
      this.scheduleRejoin();
    });
    this.on(CHANNEL_EVENTS.reply, (payload, ref) => this.trigger(this.replyEventName(ref), payload));
  }

  /** Joins; returns the join Push for `receive(...)`. Only once per Channel object. */
  join(timeout = this.timeout) {
    if (this.joinedOnce) {
      throw new Error("tried to join multiple times. 'join' can only be called a single time per channel instance");
    }
    this.timeout = timeout;
    this.joinedOnce = true;
    this.rejoin();
    return this.joinPush;
  }

  /** Called with the reason when the channel is closed (left, or phx_close from the server). */
  onClose(callback) {
    return this.on(CHANNEL_EVENTS.close, callback);
  }

  /** Called with the reason when the channel errors (it will rejoin). */
  onError(callback) {
    return this.on(CHANNEL_EVENTS.error, (reason) => callback(reason));
  }

  /** Subscribes to `event`; returns a ref for `off(event, ref)`. */
  on(event, callback) {
    const ref = this.bindingRef++;
    this.bindings.push({ event, ref, callback });
    return ref;
  }

  /** Removes the callbacks of `event`: all of them, or only the one with `ref`. */
  off(event, ref) {
    this.bindings = this.bindings.filter((b) => !(b.event === event && (ref === undefined || ref === b.ref)));
  }

  /** @internal */
  canPush() {
    return this.socket.isConnected() && this.isJoined();
  }

  /**
   * Pushes `event` with `payload` (an object, or an ArrayBuffer for a binary
   * frame). Sent now when joined, otherwise buffered until the next join,
   * with its timeout already running.
   */
  push(event, payload, timeout = this.timeout) {
    payload = payload || {};
    if (!this.joinedOnce) {
      throw new Error(`tried to push '${event}' to '${this.topic}' before joining. Use channel.join() before pushing events`);
    }
    const push = new Push(this, event, () => payload, timeout);
    if (this.canPush()) {
      push.send();
    } else {
      push.startTimeout();
      this.pushBuffer.push(push);
    }
    return push;
  }

  /**
   * Leaves the channel. It is closed locally at once (the server's answer is
   * not awaited when the socket cannot send, and is otherwise only logged).
   */
  leave(timeout = this.timeout) {
    this.rejoinTimer.reset();
    this.joinPush.cancelTimeout();
    this.state = CHANNEL_STATES.leaving;
    const onClose = () => {
      this.log("leave", this.joinRef());
      this.trigger(CHANNEL_EVENTS.close, "leave");
    };
    const leavePush = new Push(this, CHANNEL_EVENTS.leave, closure({}), timeout);
    leavePush.receive("ok", onClose).receive("timeout", onClose);
    leavePush.send();
    if (!this.canPush()) leavePush.trigger("ok", {});
    return leavePush;
  }

  /**
   * Hook to transform incoming payloads before the bindings see them; must
   * return the payload.
   */
  onMessage(_event, payload, _ref) {
    return payload;
  }

  /**
   * Whether a message for `topic` belongs to this channel object. A message
   * with a join_ref of an older join of the topic is stale: the channel it was
   * meant for is gone.
   * @internal
   */
  isMember(topic, event, payload, joinRef) {
    if (this.topic !== topic) return false;
    if (joinRef && joinRef !== this.joinRef()) {
      this.log("dropping outdated message", { topic, event, payload, joinRef });
      return false;
    }
    return true;
  }

  /** The ref of the current join, or null. */
  joinRef() {
    return this.joinPush.ref;
  }

  /** @internal */
  rejoin(timeout = this.timeout) {
    if (this.isLeaving()) return;
    this.socket.leaveOpenTopic(this.topic, this);
    this.state = CHANNEL_STATES.joining;
    this.joinPush.resend(timeout);
  }

  /** @internal */
  scheduleRejoin() {
    if (this.socket.isConnected()) this.rejoinTimer.scheduleTimeout();
  }

  /** Runs the bindings of `event`. @internal */
  trigger(event, payload, ref, joinRef) {
    const handled = this.onMessage(event, payload, ref, joinRef);
    if (payload && !handled) {
      throw new Error("channel onMessage callbacks must return the payload, modified or unmodified");
    }
    for (const binding of this.bindings.filter((b) => b.event === event)) {
      binding.callback(handled, ref, joinRef || this.joinRef());
    }
  }

  /** @internal */
  replyEventName(ref) {
    return `chan_reply_${ref}`;
  }

  /** @internal */
  log(what, data) {
    if (this.socket.hasLogger()) this.socket.log("channel", `${what} ${this.topic}`, data);
  }

  isClosed() {
    return this.state === CHANNEL_STATES.closed;
  }
  isErrored() {
    return this.state === CHANNEL_STATES.errored;
  }
  isJoined() {
    return this.state === CHANNEL_STATES.joined;
  }
  isJoining() {
    return this.state === CHANNEL_STATES.joining;
  }
  isLeaving() {
    return this.state === CHANNEL_STATES.leaving;
  }
}
