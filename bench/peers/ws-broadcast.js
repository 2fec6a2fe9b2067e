#!/usr/bin/env node
// The benchmark's reference peer: a plain Node `ws` broadcast server with crier's URL shape.
// ws://HOST:PORT/ws or /ws/<room>; every message goes to every open client of the room, the
// sender included, with the opcode it came with. No compression (perMessageDeflate: false)
// unless --per-message-deflate is given.
//
//   node ws-broadcast.js [--host 127.0.0.1] [--port 0] [--max-payload BYTES]
//                        [--per-message-deflate [--deflate-threshold BYTES] [--server-no-context-takeover]]
//
// --per-message-deflate (scenario v): ws's permessage-deflate with its defaults (context takeover
// on both sides, zlib level and memLevel as ws sets them, at most 10 zlib jobs at once) but the
// threshold, 128 bytes like crier's --compression-min-size unless --deflate-threshold says
// otherwise. ws compresses every send on its own socket's zlib stream: one compression per
// member per broadcast, where crier makes one per broadcast. --server-no-context-takeover makes
// ws reset that stream after every message, as crier does.
//
// Prints "listening on http://HOST:PORT" once listening (port 0 picks a free one).
'use strict';

const http = require('http');
const { WebSocketServer, WebSocket } = require('ws');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const host = arg('--host', '127.0.0.1');
const port = Number(arg('--port', '0'));
const maxPayload = Number(arg('--max-payload', String(64 * 1024)));
const deflate = process.argv.includes('--per-message-deflate');
const threshold = Number(arg('--deflate-threshold', '128'));
if (!Number.isInteger(threshold) || threshold < 0) {
  console.error(`--deflate-threshold: not a size: ${arg('--deflate-threshold')}`);
  process.exit(2);
}
const perMessageDeflate = deflate
  ? { threshold, serverNoContextTakeover: process.argv.includes('--server-no-context-takeover') }
  : false;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port: not a port: ${arg('--port')}`);
  process.exit(2);
}

const roomName = /^\/ws(?:\/([A-Za-z0-9._-]{1,64}))?$/;
const rooms = new Map(); // name -> Set of WebSocket

const server = http.createServer((req, res) => {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});
const wss = new WebSocketServer({ noServer: true, perMessageDeflate, maxPayload });

server.on('upgrade', (req, socket, head) => {
  const path = (req.url || '').split('?')[0];
  const m = roomName.exec(path);
  if (!m) {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const name = m[1] || 'lobby';
  wss.handleUpgrade(req, socket, head, (ws) => {
    let room = rooms.get(name);
    if (!room) {
      room = new Set();
      rooms.set(name, room);
    }
    room.add(ws);
    ws.on('message', (data, isBinary) => {
      for (const member of room) {
        if (member.readyState === WebSocket.OPEN) member.send(data, { binary: isBinary });
      }
    });
    ws.on('close', () => {
      room.delete(ws);
      if (room.size === 0 && rooms.get(name) === room) rooms.delete(name);
    });
    ws.on('error', () => ws.terminate());
  });
});

server.listen(port, host, () => {
  const a = server.address();
  console.log(`listening on http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
});

function stop() {
  for (const ws of wss.clients) ws.terminate();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
