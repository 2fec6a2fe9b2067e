// Two WebSocket clients for scripts/docker-test: both join one room, each sends a message that
// both must receive (the broadcast, sender included), then they stay connected until the server
// closes them, and the close code must be 1001 (crier's drain on SIGTERM, i.e. `docker stop`).
//
//   node tests/docker/ws-broadcast.mjs ws://127.0.0.1:PORT/ws/ROOM [SECONDS_TO_WAIT_FOR_CLOSE]
//
// Prints "broadcast ok" once the exchange worked, then one line per close. Exits 0 when both
// clients were closed with 1001, 1 on anything else. Every wait is bounded.
import WebSocket from 'ws';

const url = process.argv[2];
const closeWait = Number(process.argv[3] ?? 60) * 1000;
if (!url) {
  console.error('usage: ws-broadcast.mjs ws://HOST:PORT/ws/ROOM [SECONDS]');
  process.exit(2);
}

const fail = (why) => {
  console.error(`FAIL: ${why}`);
  process.exit(1);
};
const within = (ms, what, promise) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms))]);

function client(name) {
  const ws = new WebSocket(url);
  ws.on('error', () => {}); // reported through `opened` or as the close code (1006)
  const received = [];
  const waiters = [];
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? `<binary ${data.length}>` : data.toString();
    received.push(text);
    for (const w of waiters.splice(0)) w();
  });
  const opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', (e) => reject(new Error(`${name}: ${e.message}`)));
    ws.once('unexpected-response', (_, res) => reject(new Error(`${name}: HTTP ${res.statusCode} instead of 101`)));
  });
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const receive = async (text) => {
    while (!received.includes(text)) await new Promise((resolve) => waiters.push(resolve));
  };
  return { name, ws, opened, closed, receive };
}

try {
  const a = client('A');
  const b = client('B');
  await within(5000, 'connect', Promise.all([a.opened, b.opened]));
  const nonce = Math.random().toString(36).slice(2);
  for (const sender of [a, b]) {
    const text = `hello from ${sender.name} ${nonce}`;
    sender.ws.send(text);
    await within(5000, `"${text}" reaching both clients`, Promise.all([a.receive(text), b.receive(text)]));
  }
  console.log(`broadcast ok: A and B each received both messages through ${url}`);

  const closes = await within(closeWait, 'close from the server', Promise.all([a.closed, b.closed]));
  let ok = true;
  for (const [c, { code, reason }] of [[a, closes[0]], [b, closes[1]]]) {
    console.log(`${c.name} closed: ${code} ${reason}`);
    if (code !== 1001) ok = false;
  }
  if (!ok) fail('expected close code 1001 (going away) for both clients');
  process.exit(0);
} catch (e) {
  fail(e.message);
}
