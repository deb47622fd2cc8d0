// The clients under test. Every behaviour scenario runs once per client: the
// official `phoenix` npm package and Embercast's own client (clients/js,
// linked as the `embercast` package). Both export the phoenix.js 1.8 API
// (Socket, Channel, LongPoll, Presence, Serializer), so a scenario receives
// the module and uses its exports.
//
// CLIENT=phoenix or CLIENT=embercast (comma-separated) restricts the run.

import * as phoenix from "phoenix";
import * as embercast from "embercast";

const ALL = [
  { name: "phoenix", ...phoenix },
  { name: "embercast", ...embercast },
];

function selected() {
  const wanted = (process.env.CLIENT || "").split(",").map((s) => s.trim()).filter(Boolean);
  if (wanted.length === 0) return ALL;
  const unknown = wanted.filter((name) => !ALL.some((c) => c.name === name));
  if (unknown.length) throw new Error(`CLIENT: unknown client(s) ${unknown.join(", ")}; known: ${ALL.map((c) => c.name).join(", ")}`);
  return ALL.filter((c) => wanted.includes(c.name));
}

/** `[{name, Socket, Channel, LongPoll, Presence, Serializer, …}]`, one per client under test. */
export const CLIENTS = Object.freeze(selected());
