// Stub presence server for testing the embed without the Rust server.
// Serves embed/presence.js at /presence.js and embed/demo.html at /, and speaks the
// presence protocol over Socket.IO 4 (rooms per post, count = room size).
//
//   node tests/js/browser/stub-server.mjs [port]     (default: PORT env or 0 = any)
//
// Prints one JSON line {"listening":"http://127.0.0.1:PORT"} once it accepts connections.
// Also usable in-process: `const { url, close } = await startStub(port)`.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';

const embedDir = fileURLToPath(new URL('../../../embed/', import.meta.url));
const POST_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function startStub(port = 0) {
  const views = new Map(); // post id -> all-time views (per session per post)
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const file = { '/': 'demo.html', '/presence.js': 'presence.js' }[path];
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    // Read on every request so edits show up without a restart.
    res.writeHead(200, {
      'content-type': file.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
    }).end(readFileSync(embedDir + file));
  });
  const io = new Server(server, { cors: { origin: '*' }, pingInterval: 5000, pingTimeout: 5000 });
  const room = (id) => `post:${id}`;
  const announce = (id) => io.to(room(id)).emit('viewers', id, io.sockets.adapter.rooms.get(room(id))?.size ?? 0);

  io.on('connection', (socket) => {
    const seen = new Set();
    let current = null;
    socket.on('viewing', (raw) => {
      const id = String(raw);
      if (!POST_ID.test(id)) {
        socket.emit('error', { error: 'invalid_post_id', message: `post id must match ${POST_ID}` });
        return;
      }
      if (current !== null && current !== id) {
        socket.leave(room(current));
        announce(current);
      }
      current = id;
      socket.join(room(id));
      if (!seen.has(id)) {
        seen.add(id);
        views.set(id, (views.get(id) ?? 0) + 1);
      }
      announce(id);
      socket.emit('views', id, views.get(id));
    });
    socket.on('disconnect', () => {
      if (current !== null) announce(current); // the socket has already left its rooms
    });
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}`;
      resolve({
        url,
        close: () => new Promise((r) => { io.close(); server.close(() => r()); server.closeAllConnections?.(); }),
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url } = await startStub(Number(process.argv[2] ?? process.env.PORT ?? 0));
  console.log(JSON.stringify({ listening: url }));
}
