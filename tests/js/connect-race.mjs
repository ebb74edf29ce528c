// The connect race: N fresh clients that emit `viewing` inside their `connect`
// handler, as the 2015 client does. Every one must be answered and counted.
//
// Usage: PRESENCE_URL=... CLIENTS=2000 POST=race node connect-race.mjs
// Prints {"answered":N,"counted":N} and exits non-zero if any was lost.
import { io } from "socket.io-client";

const url = process.env.PRESENCE_URL;
const clients = Number(process.env.CLIENTS || 2000);
const post = process.env.POST || "race";
const WAIT_MS = 60000;
// Connect in waves so the test measures the race, not the accept queue.
const WAVE = 200;

const sockets = [];
let answered = 0;

function connectOne() {
  return new Promise((resolve) => {
    const socket = io(url, { forceNew: true, transports: ["websocket"], reconnection: false });
    let done = false;
    socket.on("connect", () => socket.emit("viewing", post));
    socket.on("viewers", (id) => {
      if (id === post && !done) {
        done = true;
        answered += 1;
        resolve();
      }
    });
    socket.on("connect_error", () => resolve());
    sockets.push(socket);
  });
}

const started = Date.now();
const pending = [];
for (let i = 0; i < clients; i += WAVE) {
  const wave = [];
  for (let j = i; j < Math.min(clients, i + WAVE); j++) wave.push(connectOne());
  pending.push(...wave);
  await Promise.race([Promise.all(wave), new Promise((r) => setTimeout(r, 2000))]);
}
await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, WAIT_MS))]);

const response = await fetch(`${url}/api/posts/${post}`);
const counted = (await response.json()).viewers;
console.log(JSON.stringify({ clients, answered, counted, ms: Date.now() - started }));
sockets.forEach((s) => s.close());
if (answered !== clients || counted !== clients) process.exitCode = 1;
