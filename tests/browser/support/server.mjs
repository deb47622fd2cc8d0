// `embercast serve` as a child process: started on a free port, stopped, and
// started again on the same port (a server restart as a person's browser sees it).

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The cargo workspace root. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

const READY_TIMEOUT_MS = 15_000;
// SIGTERM closes every WebSocket with 1012 and waits at most 5 s for them;
// past this the process is killed.
const STOP_TIMEOUT_MS = 8_000;
const LISTENING = /^embercast listening on http:\/\/([\d.]+):(\d+)/;

/** $EMBERCAST_BIN, or the release build the rest of the suite uses. */
function binary() {
  return process.env.EMBERCAST_BIN
    ? path.resolve(process.env.EMBERCAST_BIN)
    : path.join(REPO_ROOT, "target", "release", "embercast");
}

// Servers still running when the test process exits are killed with it.
const running = new Set();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export class Server {
  /** @param {string[]} args extra `embercast serve` flags */
  constructor(args = []) {
    this.args = args;
    this.port = 0;
    this.child = null;
    /** stderr of every process, for the report of a failed test. */
    this.log = [];
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts `embercast serve`: on a free port the first time, then on the same one. */
  async start() {
    const bin = binary();
    if (!existsSync(bin)) {
      throw new Error(`${bin} not found: run \`cargo build --release -p embercast\` (or set EMBERCAST_BIN)`);
    }
    const child = spawn(bin, ["serve", "--port", String(this.port), ...this.args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, EMBERCAST_LOG: process.env.EMBERCAST_LOG || "info" },
    });
    this.child = child;
    running.add(child);
    createInterface({ input: child.stderr }).on("line", (line) => this.log.push(line));
    const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    child.exited = exited;
    exited.then(() => running.delete(child));

    const lines = createInterface({ input: child.stdout });
    const listening = new Promise((resolve) => {
      lines.on("line", (line) => {
        const match = LISTENING.exec(line);
        if (match) resolve(Number(match[2]));
      });
    });
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no listening line within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    });
    const died = exited.then(({ code, signal }) => {
      throw new Error(`embercast serve exited (${signal || code}) before listening:\n${this.log.slice(-20).join("\n")}`);
    });
    // An exit after the listening line is no start failure: nobody awaits `died` then.
    died.catch(() => {});
    try {
      this.port = await Promise.race([listening, deadline, died]);
    } finally {
      clearTimeout(timer);
    }
    return this;
  }

  /** Stops the process (SIGTERM, then SIGKILL past the deadline) and waits for it to exit. */
  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    let timer;
    const late = new Promise((resolve) => {
      timer = setTimeout(() => resolve("late"), STOP_TIMEOUT_MS);
    });
    if ((await Promise.race([child.exited, late])) === "late") {
      child.kill("SIGKILL");
      await child.exited;
    }
    clearTimeout(timer);
  }

  /** Stops the server and starts a new process on the same port. */
  async restart() {
    await this.stop();
    await this.start();
  }
}
