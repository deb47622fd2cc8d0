// The `longPollFallbackMs` option: try the primary transport (WebSocket) and
// switch to LongPoll if it fails before opening, or if it opens but does not
// answer a heartbeat within the threshold (a proxy that accepts the upgrade
// and then drops frames). A fallback is remembered in `sessionStorage` for the
// rest of the browser tab's session.

export class Fallback {
  /**
   * @param {import("./socket.js").Socket} socket
   * @param {Function} transport the fallback transport (LongPoll)
   * @param {number} thresholdMs
   */
  constructor(socket, transport, thresholdMs) {
    this.socket = socket;
    this.transport = transport;
    this.thresholdMs = thresholdMs;
    this.timer = null;
    // trying → checking (primary open, ping sent) → confirmed
    //        → fellBack → established (the fallback transport opened)
    this.state = "idle";
  }

  get storageKey() {
    return `phx:fallback:${this.transport.name}`;
  }

  /** Connects with the primary transport, or with the fallback if it was remembered. */
  connect() {
    if (this.state === "confirmed") return this.socket.transportConnect();
    if (this.remembered()) return this.fallBack("remembered in sessionStorage");
    this.state = "trying";
    this.arm();
    this.socket.transportConnect();
  }

  cancel() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  /** The socket's connection opened. */
  onOpen() {
    const socket = this.socket;
    if (this.state === "fellBack") {
      this.state = "established";
      if (!socket.primaryPassedHealthCheck) this.remember();
      socket.log("transport", `established ${this.transport.name} fallback`);
      return;
    }
    if (this.state !== "trying") return;
    this.state = "checking";
    this.arm();
    socket.ping((rtt) => {
      if (this.state !== "checking") return;
      this.cancel();
      this.state = "confirmed";
      socket.primaryPassedHealthCheck = true;
      socket.log("transport", `primary transport answered in ${rtt} ms`);
    });
  }

  /** The socket's connection failed; returns true if this made it fall back. */
  onError(error) {
    if (this.state !== "trying") return false;
    this.fallBack(error);
    return true;
  }

  /** @internal */
  arm() {
    this.cancel();
    this.timer = setTimeout(() => this.fallBack("no answer within longPollFallbackMs"), this.thresholdMs);
  }

  /** @internal */
  fallBack(reason) {
    this.cancel();
    this.state = "fellBack";
    this.socket.log("transport", `falling back to ${this.transport.name}`, reason);
    this.socket.replaceTransport(this.transport);
    this.socket.transportConnect();
  }

  /** @internal */
  remembered() {
    try {
      return !!this.socket.sessionStore && this.socket.sessionStore.getItem(this.storageKey) === "true";
    } catch {
      return false; // storage blocked (privacy settings)
    }
  }

  /** @internal */
  remember() {
    try {
      if (this.socket.sessionStore) this.socket.sessionStore.setItem(this.storageKey, "true");
    } catch {
      // storage full or blocked: the fallback is simply not remembered
    }
  }
}
