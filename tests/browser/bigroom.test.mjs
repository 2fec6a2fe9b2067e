// A big room in the page: with crier's --presence-threshold set low, 300 crier.v1 clients (plain
// Node WebSockets) join one room; the page shows the count, a bounded paged list and a search
// box, follows the count through counted presence events, and finds members by name.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { launchBrowser, openChat, screenshot, startCrier, WAIT } from './support.mjs';

let crier;
let browser;
const bots = [];

before(async () => {
  crier = await startCrier({ args: ['--presence-threshold', '20'] });
  browser = await launchBrowser();
});

after(async () => {
  for (const b of bots) b.terminate();
  await browser?.close();
  await crier?.stop();
});

// Opens `n` crier.v1 clients named bot-<i> in `room`; resolves once each has its welcome.
async function joinBots(room, n, first = 0) {
  const opened = [];
  for (let i = first; i < first + n; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${crier.port}/ws/${room}?name=bot-${i}`, ['crier.v1']);
    bots.push(ws);
    opened.push(new Promise((resolve, reject) => {
      ws.once('message', resolve); // the welcome
      ws.once('error', reject);
    }));
  }
  await Promise.all(opened);
}

const count = (page) => page.$eval('#members-count-2', (e) => Number(e.textContent));
const rows = (page) => page.$$eval('#members li', (els) => els.length);

test('a room of 300 shows its count and a bounded, searchable member list', async () => {
  await joinBots('arena', 300);
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1200, height: 800 });
  await openChat(page, crier.url, 'arena', 'ann');
  await page.waitForSelector('body[data-big-room="true"]', { state: 'attached', timeout: WAIT });
  await page.waitForFunction(() => document.querySelector('#members-count-2').textContent === '301', null, { timeout: WAIT });
  // One page of names, not 301 rows.
  await page.waitForFunction(() => document.querySelectorAll('#members li').length > 0, null, { timeout: WAIT });
  assert.ok((await rows(page)) <= 50, `at most one page of rows, got ${await rows(page)}`);
  assert.equal(await page.isVisible('#members-search'), true);
  assert.match(await page.textContent('#members-note'), /^Showing \d+ of 301$/);

  // More bots come: the count follows the counted presence events, the list stays bounded.
  await joinBots('arena', 50, 300);
  await page.waitForFunction(() => document.querySelector('#members-count-2').textContent === '351', null, { timeout: WAIT });
  assert.ok((await rows(page)) <= 50);
  // and they go.
  for (const b of bots.splice(300, 50)) b.close();
  await page.waitForFunction(() => document.querySelector('#members-count-2').textContent === '301', null, { timeout: WAIT });
  assert.equal(await count(page), 301);

  // "Show more" adds the next page.
  const before = await rows(page);
  await page.click('#members-more');
  await page.waitForFunction((n) => document.querySelectorAll('#members li').length > n, before, { timeout: WAIT });

  // Search asks the server: bot-123 and nobody else named like it but bot-123x (none here).
  await page.fill('#members-search', 'bot-123');
  await page.waitForFunction(
    () => [...document.querySelectorAll('#members .member-name')].map((e) => e.textContent).join() === 'bot-123',
    null, { timeout: WAIT });
  await page.fill('#members-search', 'bot-29');
  await page.waitForFunction(() => document.querySelectorAll('#members .member-name').length === 11, null, { timeout: WAIT });
  const names = await page.$$eval('#members .member-name', (els) => els.map((e) => e.textContent));
  assert.ok(names.every((n) => n.startsWith('bot-29')), names.join());
  await screenshot(page, 'bigroom-search');
  await page.fill('#members-search', '');
  await page.waitForFunction(() => document.querySelectorAll('#members li').length >= 20, null, { timeout: WAIT });
  await screenshot(page, 'bigroom');
});
