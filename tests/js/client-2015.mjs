// The 2015 client, unchanged, on the official socket.io-client 4 from npm.
//
// Usage: PRESENCE_URL=http://127.0.0.1:PORT node client-2015.mjs
// 3 readers on post 13 (one of them sends the id as a number, as some themes do)
// and 2 on post 7 must see 3 and 2; when one reader of 13 leaves, the others must
// see 2; the HTTP API must agree. Exits non-zero with the reason otherwise.
import { io } from "socket.io-client";

const url = process.env.PRESENCE_URL;
const WAIT_MS = 5000;

// --- the 2015 embed, as it was: one post object, one socket, two handlers ---
function reader(post) {
  const state = { post, count: null, changedAt: 0 };
  const socket = io(url, { forceNew: true });
  socket.on("connect", function () {
    socket.emit("viewing", post.post_id);
  });
  socket.on("viewers", function (id, count) {
    if (id === String(post.post_id)) {
      state.count = count;
      state.changedAt = Date.now();
    }
  });
  state.socket = socket;
  return state;
}
// ---------------------------------------------------------------------------

function until(what, predicate) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (predicate()) {
        clearInterval(timer);
        resolve(Date.now() - started);
      } else if (Date.now() - started > WAIT_MS) {
        clearInterval(timer);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 5);
  });
}

async function api(path) {
  const response = await fetch(url + path);
  return response.json();
}

const readers13 = [reader({ post_id: "13" }), reader({ post_id: "13" }), reader({ post_id: 13 })];
const readers7 = [reader({ post_id: "7" }), reader({ post_id: "7" })];
const everyone = [...readers13, ...readers7];

try {
  await until("3 readers of 13 and 2 of 7", () =>
    readers13.every((r) => r.count === 3) && readers7.every((r) => r.count === 2));
  const both = await api("/api/posts?ids=13,7");
  if (both.posts[0].viewers !== 3 || both.posts[1].viewers !== 2) {
    throw new Error(`HTTP disagrees: ${JSON.stringify(both)}`);
  }

  const leaver = readers13.shift();
  const leftAt = Date.now();
  leaver.socket.close();
  const ms = await until("the remaining readers of 13 to see 2", () =>
    readers13.every((r) => r.count === 2));
  if (!readers7.every((r) => r.count === 2)) throw new Error("post 7 was disturbed");
  const one = await api("/api/posts/13");
  if (one.viewers !== 2 || one.post_id !== "13") {
    throw new Error(`HTTP disagrees after the leave: ${JSON.stringify(one)}`);
  }
  console.log(JSON.stringify({ ok: true, leave_seen_after_ms: ms, since_close_ms: Date.now() - leftAt }));
} catch (error) {
  console.error(error.message);
  console.error(JSON.stringify(everyone.map((r) => ({ post: r.post.post_id, count: r.count }))));
  process.exitCode = 1;
} finally {
  everyone.forEach((r) => r.socket.close());
}
