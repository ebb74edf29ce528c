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

// Half start with HTTP long-polling and upgrade, as the 2015 client does; half go
// straight to websocket, as the embed does (the narrowest race window).
function connectOne(i) {
  return new Promise((resolve) => {
    const transports = i % 2 ? ["websocket"] : ["polling", "websocket"];
    const socket = io(url, { forceNew: true, transports, reconnection: false });
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

/** Resolves when `promise` does or after `ms`, without keeping node alive after. */
function within(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const started = Date.now();
const pending = [];
for (let i = 0; i < clients; i += WAVE) {
  const wave = [];
  for (let j = i; j < Math.min(clients, i + WAVE); j++) wave.push(connectOne(j));
  pending.push(...wave);
  await within(Promise.all(wave), 2000);
}
await within(Promise.all(pending), WAIT_MS);

const response = await fetch(`${url}/api/posts/${post}`);
const counted = (await response.json()).viewers;
console.log(JSON.stringify({ clients, answered, counted, ms: Date.now() - started }));
sockets.forEach((s) => s.close());
if (answered !== clients || counted !== clients) process.exitCode = 1;
