// Socket.IO 4 peer server for `embercast bench --proto socketio`.
//
//   npm ci && node server.js            # port 3000
//   PORT=0 node server.js               # a free port
//
// Every client that connects is put in the room "bench" (the counterpart of a
// Phoenix client joining one topic, without an extra round trip). The
// publisher broadcasts to the room over HTTP, as embercast's POST /api/broadcast:
//
//   curl -X POST localhost:3000/broadcast -d '{"event":"bench","data":{"n":1}}'
//
// `ping` events are acknowledged with their data (round-trip latency).
// Scripts wait for the line "socket.io listening on http://127.0.0.1:<port>".
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const ROOM = process.env.ROOM || "bench";
const HOST = process.env.HOST || "127.0.0.1";
const PORT = Number(process.env.PORT ?? 3000);
// A broadcast body is one small JSON object; refuse anything much larger.
const MAX_BODY = 1 << 20;

const httpServer = http.createServer((req, res) => {
  // Socket.IO answers its own path (/socket.io/) before this handler runs.
  if (req.method !== "POST" || req.url !== "/broadcast") {
    res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
    return;
  }
  const chunks = [];
  let size = 0;
  req.on("data", (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) {
      res.writeHead(413).end();
      req.destroy();
    } else {
      chunks.push(chunk);
    }
  });
  req.on("end", () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      res.writeHead(400, { "content-type": "application/json" }).end('{"error":"body must be JSON"}');
      return;
    }
    if (typeof body?.event !== "string") {
      res.writeHead(400, { "content-type": "application/json" }).end('{"error":"event must be a string"}');
      return;
    }
    io.to(typeof body.room === "string" ? body.room : ROOM).emit(body.event, body.data ?? {});
    res.writeHead(202, { "content-type": "application/json" }).end('{"status":"ok"}');
  });
});

// The defaults a Socket.IO user gets (ping every 25 s, no compression).
const io = new Server(httpServer);

io.on("connection", (socket) => {
  socket.join(ROOM);
  socket.on("ping", (data, ack) => {
    if (typeof ack === "function") ack(data);
  });
});

httpServer.listen(PORT, HOST, () => {
  const { address, port } = httpServer.address();
  console.log(`socket.io listening on http://${address}:${port}`);
});

function stop() {
  io.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
