// Starts the embercast binary (`embercast serve`) as a child process for a test.
//
// The server is ready when it prints `embercast listening on http://127.0.0.1:<port>`
// on stdout. Everything it writes (stdout and stderr) goes to a log file under
// tests/js/artifacts/logs/ and to an in-memory buffer that the harness prints
// when a test fails; with DEBUG set it is also streamed live to our stderr.

import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** tests/js */
export const JS_DIR = path.resolve(HERE, "..");
/** The cargo workspace root. */
export const REPO_ROOT = path.resolve(JS_DIR, "..", "..");
const LOG_DIR = path.join(JS_DIR, "artifacts", "logs");

const READY_TIMEOUT_MS = 20_000;
// How long a server gets to exit after SIGTERM before it is killed.
const STOP_GRACE_MS = 5_000;
// restart(): how long we keep retrying to bind the old port.
const RESTART_DEADLINE_MS = 10_000;
const LISTENING_RE = /embercast listening on http:\/\/127\.0\.0\.1:(\d+)/;
// Colour codes from a tracing subscriber must not break the match.
const ANSI_RE = /\x1b\[[0-9;]*m/g;

const DEBUG = !!process.env.DEBUG;

/** Path of the server binary: $EMBERCAST_BIN or <repo>/target/release/embercast. */
export function serverBinary() {
  const fromEnv = process.env.EMBERCAST_BIN;
  if (fromEnv) return path.resolve(fromEnv);
  return path.join(REPO_ROOT, "target", "release", "embercast");
}

// Every child still alive, so that a crashing or interrupted test process never
// leaves servers behind.
const live = new Set();

process.on("exit", () => {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(signal, () => {
    // The "exit" handler kills the children.
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 })[signal]);
  });
}

let serverCounter = 0;

function sanitize(name) {
  return String(name).replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80);
}

class ServerProcess {
  constructor({ label, extraArgs, env }) {
    serverCounter += 1;
    this.label = label || `server${serverCounter}`;
    this.extraArgs = extraArgs;
    this.env = env;
    this.bin = serverBinary();
    /** Port the server listens on, known once started. */
    this.port = null;
    this.child = null;
    /** Log lines (stdout and stderr of every incarnation, plus harness notes). */
    this.lines = [];
    this.startedAt = Date.now();
    mkdirSync(LOG_DIR, { recursive: true });
    this.logPath = path.join(
      LOG_DIR,
      `${sanitize(this.label)}-${process.pid}-${serverCounter}-${Date.now()}.log`,
    );
    this.logFile = createWriteStream(this.logPath);
  }

  get url() {
    return `ws://127.0.0.1:${this.port}/socket`;
  }

  get httpUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid() {
    return this.child ? this.child.pid : null;
  }

  /** Records a line in the log (`stream` is "out", "err" or "harness"). */
  note(stream, text) {
    const ms = String(Date.now() - this.startedAt).padStart(6);
    const line = `${ms}ms ${stream.padEnd(7)} ${text.replace(ANSI_RE, "")}`;
    this.lines.push(line);
    this.logFile.write(line + "\n");
    if (DEBUG) process.stderr.write(`[${this.label}] ${line}\n`);
  }

  /** The whole log so far, as text. */
  logText() {
    return this.lines.join("\n");
  }

  /** Starts one process on `port` (0 = any). Resolves when it is listening. */
  spawnOnce(port) {
    if (!existsSync(this.bin)) {
      return Promise.reject(
        new Error(
          `embercast binary not found at ${this.bin}; build it with ` +
            "`cargo build --release -p embercast` or set EMBERCAST_BIN",
        ),
      );
    }
    const args = ["serve", "--host", "127.0.0.1", "--port", String(port), ...this.extraArgs];
    this.note("harness", `spawn ${this.bin} ${args.join(" ")}`);
    const child = spawn(this.bin, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    live.add(child);
    child.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        live.delete(child);
        this.note("harness", `pid ${child.pid} exited (code=${code}, signal=${signal})`);
        resolve({ code, signal });
      });
    });

    return new Promise((resolve, reject) => {
      let settled = false;
      let sawOnStderr = false;
      const settle = (fn, value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn(value);
      };
      const tail = () => this.lines.slice(-40).join("\n");
      const timer = setTimeout(() => {
        const hint = sawOnStderr
          ? " (the listening line was printed on stderr, but it must be on stdout)"
          : "";
        child.kill("SIGKILL");
        settle(
          reject,
          new Error(
            `server did not print "embercast listening on http://127.0.0.1:<port>" on stdout ` +
              `within ${READY_TIMEOUT_MS} ms${hint}; log ${this.logPath}:\n${tail()}`,
          ),
        );
      }, READY_TIMEOUT_MS);

      // Keep draining both pipes for the life of the process: a full pipe
      // would block the server's writes.
      createInterface({ input: child.stdout }).on("line", (raw) => {
        this.note("out", raw);
        const match = raw.replace(ANSI_RE, "").match(LISTENING_RE);
        if (match && !settled) {
          const actual = Number(match[1]);
          if (port !== 0 && actual !== port) {
            child.kill("SIGKILL");
            settle(reject, new Error(`asked for port ${port}, server listens on ${actual}`));
            return;
          }
          this.port = actual;
          settle(resolve, actual);
        }
      });
      createInterface({ input: child.stderr }).on("line", (raw) => {
        this.note("err", raw);
        if (LISTENING_RE.test(raw.replace(ANSI_RE, ""))) sawOnStderr = true;
      });
      child.once("error", (err) => {
        settle(reject, new Error(`could not start ${this.bin}: ${err.message}`));
      });
      child.exited.then(({ code, signal }) => {
        const err = new Error(
          `server exited before listening (code=${code}, signal=${signal}); log ${this.logPath}:\n${tail()}`,
        );
        err.exitedEarly = true;
        settle(reject, err);
      });
    });
  }

  async start() {
    await this.spawnOnce(0);
    this.note("harness", `listening on port ${this.port}`);
    return this;
  }

  /** Stops the server: SIGTERM, then SIGKILL after `graceMs`. Idempotent. */
  async stop({ graceMs = STOP_GRACE_MS } = {}) {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    let timer;
    const killed = new Promise((resolve) => {
      timer = setTimeout(() => {
        this.note("harness", `pid ${child.pid} still alive ${graceMs} ms after SIGTERM: SIGKILL`);
        child.kill("SIGKILL");
        resolve();
      }, graceMs);
    });
    await Promise.race([child.exited, killed]);
    await child.exited;
    clearTimeout(timer);
  }

  /**
   * Stops the server and starts a new process on the same port. The port may
   * be busy for a moment after the old process exits, so an early exit of the
   * new process is retried until RESTART_DEADLINE_MS.
   */
  async restart() {
    const port = this.port;
    if (!port) throw new Error("restart() before the server was started");
    await this.stop();
    this.note("harness", `restarting on port ${port}`);
    const deadline = Date.now() + RESTART_DEADLINE_MS;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.spawnOnce(port);
        this.note("harness", `restarted on port ${port} (attempt ${attempt})`);
        return this;
      } catch (err) {
        if (!err.exitedEarly || Date.now() >= deadline) throw err;
        // Backoff between bind attempts (not a synchronisation sleep).
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * attempt, 500)));
      }
    }
  }

  /** Closes the log file (after the process is stopped). */
  async close() {
    await new Promise((resolve) => this.logFile.end(resolve));
  }
}

/**
 * Starts `embercast serve --host 127.0.0.1 --port 0 <args...>` and waits until
 * it listens. Returns `{url, port, httpUrl, stop(), restart(), logText(), logPath}`;
 * `url` is the socket endpoint for `new Socket(url, ...)` (`ws://127.0.0.1:<port>/socket`).
 *
 * Prefer `h.startServer()` from harness.mjs in tests: it also stops the server
 * when the test ends and prints its log when the test fails.
 */
export async function startServer({ args = [], env = {}, label } = {}) {
  const server = new ServerProcess({ label, extraArgs: args, env });
  try {
    await server.start();
  } catch (err) {
    await server.stop();
    await server.close();
    throw err;
  }
  return server;
}
