// An EventSource in Chromium: it gets the messages a WebSocket client sends, and when its
// connection is cut and the server is unreachable for a while, it reconnects by itself with
// Last-Event-ID and gets what it missed, with no gap and no duplicate.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { WAIT, launchBrowser, screenshot, startCrier, startGate } from './support.mjs';

let crier;
let gate;
let browser;

before(async () => {
  crier = await startCrier();
  gate = await startGate(crier.port);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await gate?.close();
  await crier?.stop();
});

async function sender(url) {
  const ws = new WebSocket(url, ['crier.v1']);
  const welcome = await new Promise((resolve, reject) => {
    ws.once('message', (data) => resolve(JSON.parse(data.toString())));
    ws.once('error', reject);
  });
  return { ws, welcome, say: (text) => ws.send(JSON.stringify({ type: 'message', text })) };
}

const waitCount = (page, n) =>
  page.waitForFunction((n) => window.got.length >= n, n, { timeout: WAIT });

test('EventSource gets every message once across a cut connection', async () => {
  const page = await browser.newPage();
  // Same origin as the stream: any page of the server will do.
  await page.goto(`${gate.url}/healthz`);
  await page.evaluate(() => {
    document.body.innerHTML = '<h1>crier over SSE</h1><ol id="log"></ol>';
    window.got = [];
    window.welcomes = [];
    const es = new EventSource('/sse/square?name=browser');
    window.es = es;
    es.addEventListener('welcome', (e) => window.welcomes.push(JSON.parse(e.data)));
    es.addEventListener('message', (e) => {
      const m = JSON.parse(e.data);
      window.got.push({ id: e.lastEventId, seq: m.seq, text: m.text });
      const li = document.createElement('li');
      li.textContent = `${e.lastEventId}  ${m.from.name}: ${m.text}`;
      document.querySelector('#log').append(li);
    });
  });
  await page.waitForFunction(() => window.welcomes.length === 1, null, { timeout: WAIT });
  const epoch = await page.evaluate(() => window.welcomes[0].epoch);

  const ann = await sender(`ws://127.0.0.1:${crier.port}/ws/square?name=ann`);
  for (let i = 1; i <= 5; i++) ann.say(`before ${i}`);
  await waitCount(page, 5);

  // The network goes away: the stream is cut and reconnecting fails for a while, during which
  // more is said.
  gate.hold();
  gate.cut();
  await page.waitForFunction(() => window.es.readyState !== EventSource.OPEN, null, { timeout: WAIT });
  for (let i = 6; i <= 10; i++) ann.say(`while away ${i}`);
  await new Promise((resolve) => ann.ws.on('message', function seen(data) {
    if (JSON.parse(data.toString()).seq === 10) { ann.ws.off('message', seen); resolve(); }
  }));
  gate.open();
  await page.waitForFunction(() => window.welcomes.length === 2, null, { timeout: WAIT });
  for (let i = 11; i <= 12; i++) ann.say(`after ${i}`);
  await waitCount(page, 12);

  const got = await page.evaluate(() => window.got);
  assert.deepEqual(got.map((m) => m.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], JSON.stringify(got));
  assert.deepEqual(got.map((m) => m.id), got.map((m) => `${epoch}:${m.seq}`));
  const second = await page.evaluate(() => window.welcomes[1]);
  assert.equal(second.resumed, true, JSON.stringify(second));
  assert.equal(second.epoch, epoch);
  await screenshot(page, 'sse-eventsource');
  ann.ws.close();
});
