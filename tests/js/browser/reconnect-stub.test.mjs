// Drives reconnect.mjs against the stub server, as the Rust e2e test does against the real
// one: start server, wait for "ready", kill -9 the server, start it again on the same port,
// write "restarted", expect {"event":"recovered"} and exit 0.
//
//   node --test tests/js/browser/reconnect-stub.test.mjs       (DOWN_MS=3000 by default)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const DOWN_MS = Number(process.env.DOWN_MS ?? 3000);

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

function startStub(port) {
  const child = spawn(process.execPath, [here('./stub-server.mjs'), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', () => resolve(child));
    child.once('exit', (c) => reject(new Error(`stub exited ${c}`)));
  });
}

test(`pages recover the count after the server is down ${DOWN_MS} ms`, { timeout: 90000 }, async () => {
  const port = await freePort();
  let stub = await startStub(port);
  const child = spawn(process.execPath, [here('./reconnect.mjs')], {
    env: { ...process.env, PRESENCE_URL: `http://127.0.0.1:${port}` },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  const lines = [];
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      const msg = JSON.parse(line);
      lines.push(msg);
      console.log(`# reconnect.mjs: ${line}`);
      if (msg.event === 'ready') {
        stub.kill('SIGKILL');
        await new Promise((r) => stub.once('exit', r));
        await new Promise((r) => setTimeout(r, DOWN_MS));
        stub = await startStub(port);
        child.stdin.write('restarted\n');
      }
    }
    assert.equal(await exited, 0);
    assert.equal(lines.at(-1).event, 'recovered');
  } finally {
    stub.kill('SIGKILL');
  }
});
