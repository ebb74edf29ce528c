// The presence protocol the straightforward way, as a baseline for BENCHMARKS.md:
// socket.io 4 + node-redis 4, one MULTI per `viewing`, a PUBLISH per change, and every
// subscriber pushes the fresh count to the whole room on every announcement (no
// coalescing). Same keys and wire protocol as presence-server.
//
//   PORT=3100 REDIS_URL=redis://127.0.0.1:6390 node server.mjs
import http from "node:http";
import { Server } from "socket.io";
import { createClient } from "redis";

const PORT = Number(process.env.PORT ?? 3100);
const HOST = process.env.HOST ?? "127.0.0.1";
const TTL = Number(process.env.SESSION_TTL_SECS ?? 20);
const MAX_BATCH = 100;
const CHANNEL = "presence:baseline:changes";
const ID = /^[A-Za-z0-9_-]{1,64}$/;

const redis = createClient({ url: process.env.REDIS_URL });
const sub = redis.duplicate();
await Promise.all([redis.connect(), sub.connect()]);

const postId = (value) =>
  (typeof value === "number" && Number.isInteger(value) && value > 0) ||
  (typeof value === "string" && ID.test(value))
    ? String(value)
    : null;

async function counts(ids) {
  const multi = redis.multi();
  for (const id of ids) multi.sCard(`viewers:${id}`).get(`views:${id}`);
  const replies = await multi.exec();
  return ids.map((id, i) => ({
    post_id: id,
    viewers: Number(replies[2 * i]),
    views: Number(replies[2 * i + 1] ?? 0),
  }));
}

function json(res, status, body) {
  res.writeHead(status, { "content-type": "application/json", "access-control-allow-origin": "*" });
  res.end(JSON.stringify(body));
}

const httpServer = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  const one = url.pathname.match(/^\/api\/posts\/([^/]+)$/);
  try {
    if (one) {
      const id = postId(decodeURIComponent(one[1]));
      if (!id) return json(res, 400, { error: "invalid_post_id" });
      return json(res, 200, (await counts([id]))[0]);
    }
    if (url.pathname === "/api/posts") {
      const ids = (url.searchParams.get("ids") ?? "").split(",").map(postId);
      if (ids.length > MAX_BATCH || ids.some((id) => !id)) return json(res, 400, { error: "invalid_post_id" });
      return json(res, 200, { posts: await counts(ids) });
    }
    if (url.pathname === "/healthz") return json(res, 200, {});
  } catch (error) {
    return json(res, 503, { reason: String(error) });
  }
  if (!req.url.startsWith("/socket.io/")) json(res, 404, {});
});

const PING_INTERVAL_MS = Number(process.env.PING_INTERVAL_MS ?? 10_000);
const io = new Server(httpServer, { pingInterval: PING_INTERVAL_MS, pingTimeout: 10_000, cors: { origin: "*" } });
const viewing = new Map(); // socket id -> post id, for keep-alive

io.on("connection", (socket) => {
  const sid = socket.id;
  const counted = new Set();
  let current = null;

  socket.on("viewing", async (value) => {
    const post = postId(value);
    if (!post) return socket.emit("error", { error: "invalid_post_id" });
    const previous = current;
    current = post;
    viewing.set(sid, post);
    if (previous && previous !== post) socket.leave(`post:${previous}`);
    socket.join(`post:${post}`);
    const multi = redis.multi();
    if (previous && previous !== post) multi.sRem(`viewers:${previous}`, sid);
    multi.sAdd(`viewers:${post}`, sid).hSet("viewers", sid, post).set(`session:${sid}`, post, { EX: TTL });
    if (counted.has(post)) multi.get(`views:${post}`);
    else multi.incr(`views:${post}`);
    counted.add(post);
    multi.sCard(`viewers:${post}`);
    const replies = await multi.exec();
    const [views, viewers] = replies.slice(-2).map(Number);
    socket.emit("viewers", post, viewers);
    socket.emit("views", post, views);
    await redis.publish(CHANNEL, post);
    if (previous && previous !== post) await redis.publish(CHANNEL, previous);
  });

  socket.on("disconnect", async () => {
    viewing.delete(sid);
    if (!current) return;
    await redis.multi().sRem(`viewers:${current}`, sid).hDel("viewers", sid).del(`session:${sid}`).exec();
    await redis.publish(CHANNEL, current);
  });
});

// Every server pushes the fresh count to its own room on every announcement.
await sub.subscribe(CHANNEL, async (post) => {
  if (!io.sockets.adapter.rooms.get(`post:${post}`)?.size) return;
  const viewers = await redis.sCard(`viewers:${post}`);
  io.to(`post:${post}`).emit("viewers", post, viewers);
});

// Keep live sessions' keys from expiring: one pipelined EXPIRE per session every TTL/3.
setInterval(async () => {
  const ids = [...viewing.keys()];
  for (let i = 0; i < ids.length; i += 1000) {
    const multi = redis.multi();
    for (const sid of ids.slice(i, i + 1000)) multi.expire(`session:${sid}`, TTL);
    await multi.exec().catch(() => {});
  }
}, (TTL * 1000) / 3);

httpServer.listen(PORT, HOST, () => console.log(`baseline-node listening on ${HOST}:${PORT}`));
// On SIGTERM, remove this process's sessions before exiting (as presence-server does),
// so a restart starts from true counts.
async function shutdown() {
  const entries = [...viewing.entries()];
  for (let i = 0; i < entries.length; i += 1000) {
    const multi = redis.multi();
    for (const [sid, post] of entries.slice(i, i + 1000)) {
      multi.sRem(`viewers:${post}`, sid).hDel("viewers", sid).del(`session:${sid}`);
    }
    await multi.exec().catch(() => {});
  }
  process.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, shutdown);
