// One client message that expects a reply: a join, a leave, or an event
// pushed on a channel. Replies are matched by ref; `receive(status, cb)`
// hooks run for the reply status ("ok", "error", …) or for "timeout".

import { closure } from "./constants.js";

export class Push {
  /**
   * @param {import("./channel.js").Channel} channel
   * @param {string} event
   * @param {() => object | ArrayBuffer} payload evaluated on every send
   * @param {number} timeout ms
   */
  constructor(channel, event, payload, timeout) {
    this.channel = channel;
    this.event = event;
    this.payload = payload || closure({});
    this.receivedResp = null;
    this.timeout = timeout;
    this.timeoutTimer = null;
    this.recHooks = [];
    this.sent = false;
    this.ref = null;
    this.refEvent = null;
  }

  /** Sends again with a new ref (a rejoin). */
  resend(timeout) {
    this.timeout = timeout;
    this.reset();
    this.send();
  }

  send() {
    // A push that timed out while buffered is never sent.
    if (this.hasReceived("timeout")) return;
    this.startTimeout();
    this.sent = true;
    this.channel.socket.push({
      topic: this.channel.topic,
      event: this.event,
      payload: this.payload(),
      ref: this.ref,
      join_ref: this.channel.joinRef(),
    });
  }

  /** Runs `callback(response)` when the reply has `status`; at once if it already has. */
  receive(status, callback) {
    if (this.hasReceived(status)) callback(this.receivedResp.response);
    this.recHooks.push({ status, callback });
    return this;
  }

  reset() {
    this.cancelRefEvent();
    this.cancelTimeout();
    this.ref = null;
    this.refEvent = null;
    this.receivedResp = null;
    this.sent = false;
  }

  /** @internal */
  matchReceive({ status, response }) {
    for (const hook of this.recHooks.filter((h) => h.status === status)) hook.callback(response);
  }

  /** @internal */
  cancelRefEvent() {
    if (this.refEvent) this.channel.off(this.refEvent);
  }

  /** @internal */
  cancelTimeout() {
    clearTimeout(this.timeoutTimer);
    this.timeoutTimer = null;
  }

  /**
   * Takes a fresh ref, listens for its reply and arms the timeout. Called by
   * `send`, and by the channel for a push it buffers: its timeout runs while
   * it waits for the join.
   */
  startTimeout() {
    this.cancelTimeout();
    this.cancelRefEvent();
    this.ref = this.channel.socket.makeRef();
    this.refEvent = this.channel.replyEventName(this.ref);
    this.channel.on(this.refEvent, (payload) => {
      this.cancelRefEvent();
      this.cancelTimeout();
      this.receivedResp = payload;
      this.matchReceive(payload);
    });
    this.timeoutTimer = setTimeout(() => this.trigger("timeout", {}), this.timeout);
  }

  /** @internal */
  hasReceived(status) {
    return !!this.receivedResp && this.receivedResp.status === status;
  }

  /** Delivers a local reply with `status` (used for timeouts and local leaves). */
  trigger(status, response) {
    this.channel.trigger(this.refEvent, { status, response });
  }
}
