// Debian's Chromium driven by playwright-core, and the chat page of
// `embercast serve` as a person uses it: its form fields, its status line,
// its message list and its online list, found by their element ids.
//
// Every wait is for a DOM state with a deadline; a failed wait names the state.

import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { REPO_ROOT } from "./server.mjs";

/** Screenshots of passing and failing runs (target/ is ignored by git). */
export const ARTIFACTS = path.join(REPO_ROOT, "target", "browser-artifacts");

// Deadline of one wait. Generous: a 2-core CI machine runs Chromium, the
// server and node at once.
const WAIT_MS = 10_000;
// After a restart the client's reconnect backoff (with jitter) adds up to a
// few seconds before the server is tried again.
export const RECONNECT_MS = 20_000;

/** Launches headless Chromium ($CHROMIUM or /usr/bin/chromium). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** One person on the chat page, in their own browser context (own storage). */
export class ChatPage {
  /**
   * Opens the page, joins `room` as `name` and waits until connected.
   * @param {import("playwright-core").Browser} browser
   */
  static async open(browser, server, { name, room, transport = "websocket" }) {
    const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
    const page = await context.newPage();
    const chat = new ChatPage(name, context, page);
    await page.goto(transport === "longpoll" ? `${server.url}/?transport=longpoll` : `${server.url}/`);
    await chat.waitStatus("connected");
    await page.getByLabel("Your name").fill(name);
    await page.getByLabel("Room").fill(room);
    await page.getByRole("button", { name: "Join" }).click();
    await chat.waitStatus("connected");
    await chat.waitOnlineIncludes(name);
    return chat;
  }

  constructor(name, context, page) {
    this.name = name;
    this.context = context;
    this.page = page;
    this.closed = false;
    /** Console lines and page errors, for the report of a failed test. */
    this.log = [];
    /** Every WebSocket and LongPoll URL the page opened. */
    this.websockets = [];
    this.longpolls = [];
    page.on("console", (msg) => this.log.push(`console.${msg.type()}: ${msg.text()}`));
    page.on("pageerror", (err) => this.log.push(`pageerror: ${err.message}`));
    page.on("websocket", (ws) => this.websockets.push(ws.url()));
    page.on("request", (req) => {
      if (req.url().includes("/socket/longpoll")) this.longpolls.push(`${req.method()} ${req.url()}`);
    });
  }

  /** Waits until `#status` has `data-state` = `state` ("connected", "reconnecting", …). */
  async waitStatus(state, timeout = WAIT_MS) {
    await this.waitFor(
      `status ${state}`,
      (want) => document.getElementById("status").dataset.state === want,
      state,
      timeout,
    );
  }

  /** Types `body` in the message box and sends it with Enter. */
  async send(body) {
    const input = this.page.getByLabel("Message", { exact: true });
    await input.fill(body);
    await input.press("Enter");
  }

  /** Waits for a message `body` from `from` in the message list. */
  async waitMessage(from, body, timeout = WAIT_MS) {
    await this.waitFor(
      `message ${JSON.stringify(body)} from ${from}`,
      ([from, body]) =>
        [...document.querySelectorAll("#messages li.message")].some(
          (li) => li.dataset.name === from && li.querySelector(".body").textContent === body,
        ),
      [from, body],
      timeout,
    );
  }

  /** Waits for a notice line (e.g. "bob left") in the message list. */
  async waitNotice(text, timeout = WAIT_MS) {
    await this.waitFor(
      `notice ${JSON.stringify(text)}`,
      (text) => [...document.querySelectorAll("#messages li.system")].some((li) => li.textContent === text),
      text,
      timeout,
    );
  }

  /** Waits until the online list is exactly `names` (any order) and its count says so. */
  async waitOnline(names, timeout = WAIT_MS) {
    const want = [...names].sort();
    await this.waitFor(
      `online list ${JSON.stringify(want)}`,
      (want) => {
        const shown = [...document.querySelectorAll("#online li")].map((li) => li.dataset.name).sort();
        const count = document.getElementById("online-count").textContent;
        return JSON.stringify(shown) === JSON.stringify(want) && count === String(want.length);
      },
      want,
      timeout,
    );
  }

  /** Picks `status` ("away", "busy", "" for available) in the status list. */
  async setStatus(status) {
    await this.page.getByLabel("Your status").selectOption(status);
  }

  /** Waits until `name`'s entry in the online list shows `status`. */
  async waitPresenceStatus(name, status, timeout = WAIT_MS) {
    await this.waitFor(
      `${name} shown as ${JSON.stringify(status)}`,
      ([name, status]) =>
        [...document.querySelectorAll("#online li")].some(
          (li) => li.dataset.name === name && (li.querySelector(".presence-status")?.textContent ?? "") === status,
        ),
      [name, status],
      timeout,
    );
  }

  async waitOnlineIncludes(name, timeout = WAIT_MS) {
    await this.waitFor(
      `${name} in the online list`,
      (name) => [...document.querySelectorAll("#online li")].some((li) => li.dataset.name === name),
      name,
      timeout,
    );
  }

  /** `page.waitForFunction` with a failure message that names the state and shows the page. */
  async waitFor(what, predicate, arg, timeout) {
    try {
      await this.page.waitForFunction(predicate, arg, { timeout, polling: 25 });
    } catch (err) {
      throw new Error(`${this.name}: timed out after ${timeout} ms waiting for ${what}\n${await this.describe()}`, {
        cause: err,
      });
    }
  }

  /** What the page shows now, and its console. */
  async describe() {
    if (this.closed) return "(page closed)";
    const shown = await this.page
      .evaluate(() => ({
        status: document.getElementById("status").textContent,
        online: [...document.querySelectorAll("#online li")].map((li) => li.textContent),
        messages: [...document.querySelectorAll("#messages li")].slice(-10).map((li) => li.textContent),
      }))
      .catch((err) => ({ unreadable: err.message }));
    return `page of ${this.name}: ${JSON.stringify(shown)}\nconsole of ${this.name}:\n  ${this.log.slice(-20).join("\n  ")}`;
  }

  async screenshot(file) {
    mkdirSync(ARTIFACTS, { recursive: true });
    await this.page.screenshot({ path: path.join(ARTIFACTS, file) });
  }

  /** Closes the page as a person closing the tab does. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.context.close();
  }
}
