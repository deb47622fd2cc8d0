// The Phoenix guide's client snippet, with only its import line changed, in a
// page of the server's origin: it joins rooms:lobby and gets the messages a
// person sends from the chat page.

import { after, before, test } from "node:test";
import { ChatPage, launchBrowser } from "./support/chat.mjs";
import { Server } from "./support/server.mjs";

const SNIPPET = `
import {Socket} from "/js/embercast.js"   // was: from "phoenix"
let socket = new Socket("/socket", {params: {token: window.userToken}})
socket.connect()
let channel = socket.channel("rooms:lobby", {})
channel.join()
  .receive("ok", resp => { console.log("Joined successfully", resp) })
  .receive("error", resp => { console.log("Unable to join", resp) })
channel.on("new_msg", payload => { console.log("Got message:", payload.body) })
function sendMessage(body) { channel.push("new_msg", {body: body}) }
window.sendMessage = sendMessage
`;

/** The page's console lines, and a wait for a line starting with some text. */
function consoleOf(page, timeout = 10_000) {
  const lines = [];
  const waiters = new Set();
  const record = (text) => {
    lines.push(text);
    for (const check of waiters) check();
  };
  page.on("console", (msg) => record(msg.text()));
  page.on("pageerror", (err) => record(`pageerror: ${err.message}`));
  const line = (prefix) =>
    new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      const check = () => {
        if (lines.some((l) => l.startsWith(prefix))) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no console line "${prefix}…" within ${timeout} ms; console:\n  ${lines.join("\n  ")}`));
      }, timeout);
      waiters.add(check);
      check();
    });
  return { lines, line };
}

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test("the phoenix.js snippet runs unchanged but for its import", async () => {
  const server = await new Server().start();
  const context = await browser.newContext();
  let ada;
  try {
    const page = await context.newPage();
    const logs = consoleOf(page);
    // A page of the app's own origin, so that "/socket" is the server's.
    // (Not a page made up with page.route: Chromium counts its address space
    // as public and refuses its connections to 127.0.0.1.) /healthz holds no
    // script of its own; the snippet is its only one.
    await page.goto(`${server.url}/healthz`);
    await page.addScriptTag({ type: "module", content: SNIPPET });
    await logs.line("Joined successfully");

    ada = await ChatPage.open(browser, server, { name: "ada", room: "lobby" });
    await ada.send("hello from the chat page");
    await logs.line("Got message: hello from the chat page");

    await page.evaluate(() => window.sendMessage("hello from the snippet"));
    await ada.waitMessage("anonymous", "hello from the snippet");
  } finally {
    await ada?.close();
    await context.close();
    await server.stop();
  }
});
