// The chat page of `embercast serve` in a real browser, two people at once,
// over WebSocket and over LongPoll (`?transport=longpoll`).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ChatPage, RECONNECT_MS, launchBrowser } from "./support/chat.mjs";
import { Server } from "./support/server.mjs";

// LongPoll has no close frame: a closed page's session ends when the server
// has seen no poll for this long (15 s by default; shortened to keep the run quick).
const LONGPOLL_TIMEOUT_MS = 2000;

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/**
 * Runs `body({server, open})` with a fresh server; `open(name)` puts a person
 * in the room. Pages and server are closed afterwards, and a failure carries
 * what each page showed and the server's log.
 */
function chatTest(name, transport, body) {
  test(name, async () => {
    const args = transport === "longpoll" ? ["--longpoll-timeout-ms", String(LONGPOLL_TIMEOUT_MS)] : [];
    const server = await new Server(args).start();
    const pages = [];
    const room = `test-${transport}`;
    const open = async (person) => {
      const page = await ChatPage.open(browser, server, { name: person, room, transport });
      pages.push(page);
      return page;
    };
    try {
      await body({ server, open });
      for (const page of pages.filter((p) => !p.closed)) {
        if (transport === "longpoll") {
          assert.deepEqual(page.websockets, [], `${page.name} opened no WebSocket`);
          assert.ok(page.longpolls.length > 0, `${page.name} polled /socket/longpoll`);
        } else {
          assert.ok(page.websockets.length > 0, `${page.name} used a WebSocket`);
        }
      }
    } catch (err) {
      const pagesShown = await Promise.all(pages.map((p) => p.describe()));
      err.message += `\n\n${pagesShown.join("\n")}\n\nserver log:\n  ${server.log.slice(-40).join("\n  ")}`;
      throw err;
    } finally {
      await Promise.all(pages.map((p) => p.close()));
      await server.stop();
    }
  });
}

for (const transport of ["websocket", "longpoll"]) {
  describe(`chat over ${transport}`, () => {
    chatTest("two people exchange messages and see each other online", transport, async ({ open }) => {
      const ada = await open("ada");
      const bob = await open("bob");
      await ada.waitNotice("bob joined");
      await Promise.all([ada.waitOnline(["ada", "bob"]), bob.waitOnline(["ada", "bob"])]);

      await ada.send("hello bob");
      await Promise.all([bob.waitMessage("ada", "hello bob"), ada.waitMessage("ada", "hello bob")]);
      await bob.send("hi ada <b>not bold</b>");
      await ada.waitMessage("bob", "hi ada <b>not bold</b>");

      // A status is a presence meta update: one presence_diff to everyone.
      await ada.setStatus("away");
      await Promise.all([bob.waitPresenceStatus("ada", "away"), ada.waitPresenceStatus("ada", "away")]);
      await bob.waitOnline(["ada", "bob"]);

      await ada.screenshot(`chat-${transport}.png`);
    });

    chatTest("a closed page leaves the other's online list", transport, async ({ open }) => {
      const ada = await open("ada");
      const bob = await open("bob");
      await ada.waitOnline(["ada", "bob"]);

      await bob.close();
      await ada.waitOnline(["ada"], LONGPOLL_TIMEOUT_MS + 10_000);
      await ada.waitNotice("bob left");
    });

    chatTest("both pages recover after the server restarts", transport, async ({ server, open }) => {
      const ada = await open("ada");
      const bob = await open("bob");
      await Promise.all([ada.waitOnline(["ada", "bob"]), bob.waitOnline(["ada", "bob"])]);
      await ada.setStatus("busy");
      await bob.waitPresenceStatus("ada", "busy");
      const port = server.port;

      await server.stop();
      await Promise.all([ada.waitStatus("reconnecting"), bob.waitStatus("reconnecting")]);
      await server.start();
      assert.equal(server.port, port, "the new process listens on the old port");

      await Promise.all([ada.waitStatus("connected", RECONNECT_MS), bob.waitStatus("connected", RECONNECT_MS)]);
      await Promise.all([ada.waitOnline(["ada", "bob"]), bob.waitOnline(["ada", "bob"])]);
      // The new server knows nothing of the old one's metas: the page sets its status again.
      await bob.waitPresenceStatus("ada", "busy");
      await ada.send("back again");
      await bob.waitMessage("ada", "back again");
      await bob.send("welcome back");
      await ada.waitMessage("bob", "welcome back");

      await bob.screenshot(`restart-${transport}.png`);
    });
  });
}
