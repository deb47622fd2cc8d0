// Browser page lifecycle. A page put in the back/forward cache leaves
// cleanly and comes back when it is shown again. Browsers throttle timers of
// hidden pages, so no reconnect is attempted while the page is hidden, and
// one is made at once when it becomes visible. Outside browsers: nothing.

/** Wires `socket` to the page events, when there is a page. */
export function watchPage(socket) {
  const win = globalThis.window;
  const doc = globalThis.document;
  if (!win || !doc || typeof win.addEventListener !== "function") return;
  let wasConnected = false;
  win.addEventListener("pagehide", () => {
    wasConnected = !!socket.conn && !socket.closeWasClean;
    if (wasConnected) socket.disconnect();
  });
  win.addEventListener("pageshow", () => {
    if (wasConnected) {
      wasConnected = false;
      socket.connect();
    }
  });
  doc.addEventListener("visibilitychange", () => {
    socket.pageHidden = doc.visibilityState === "hidden";
    const down = socket.connectionState() === "closed";
    if (!socket.pageHidden && !socket.closeWasClean && down && socket.establishedConnections > 0) {
      socket.reconnectTimer.reset();
      socket.teardown(() => socket.connect());
    }
  });
}
