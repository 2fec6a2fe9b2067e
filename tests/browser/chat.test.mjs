// The page as people use it on a desktop: two pages in one room talk, see who is here, see
// their own messages apart with times, and markup in a message stays text.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  countMessages, launchBrowser, memberNames, messageTexts, openChat, say, screenshot, startCrier,
  waitMembers, waitMessage,
} from './support.mjs';

let crier;
let browser;

before(async () => {
  crier = await startCrier();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await crier?.stop();
});

test('two pages in one room see each other, their own messages apart, with local times', async () => {
  const ann = await openChat(await browser.newPage(), crier.url, 'square', 'ann');
  const bob = await openChat(await browser.newPage(), crier.url, 'square', 'bob');
  await waitMembers(ann, ['ann', 'bob']);
  await waitMembers(bob, ['ann', 'bob']);

  await say(ann, 'hello bob');
  await waitMessage(bob, 'hello bob');
  await waitMessage(ann, 'hello bob');
  await say(bob, 'hi ann, how is the square?');
  await say(bob, 'busy today');
  await waitMessage(ann, 'busy today');
  await say(ann, 'loud, as ever 📣\nsecond line');
  await waitMessage(bob, 'loud, as ever 📣\nsecond line');
  await waitMessage(ann, 'loud, as ever 📣\nsecond line');

  // Both logs hold the same conversation in the same order, each message once.
  const expected = ['hello bob', 'hi ann, how is the square?', 'busy today', 'loud, as ever 📣\nsecond line'];
  assert.deepEqual(await messageTexts(ann), expected);
  assert.deepEqual(await messageTexts(bob), expected);

  // Own messages are styled apart: judged by the sender's id, not by the name.
  const classes = (page) => page.$$eval('#log .msg', (els) => els.map((e) => (e.classList.contains('mine') ? 'mine' : 'theirs')));
  assert.deepEqual(await classes(ann), ['mine', 'theirs', 'theirs', 'mine']);
  assert.deepEqual(await classes(bob), ['theirs', 'mine', 'mine', 'theirs']);
  const mineBg = await ann.$eval('#log .msg.mine .bubble', (e) => getComputedStyle(e).backgroundColor);
  const theirsBg = await ann.$eval('#log .msg.theirs .bubble', (e) => getComputedStyle(e).backgroundColor);
  assert.notEqual(mineBg, theirsBg);
  // Others' messages say who sent them.
  assert.equal(await ann.locator('#log .msg.theirs .author').first().textContent(), 'bob');

  // Every message shows the local time of its ts.
  const times = await ann.$$eval('#log .msg time', (els) => els.map((e) => ({ iso: e.dateTime, text: e.textContent })));
  assert.equal(times.length, 4);
  for (const t of times) {
    const when = new Date(t.iso);
    assert.ok(Math.abs(Date.now() - when.getTime()) < 5 * 60 * 1000, `time ${t.iso} is recent`);
    const local = await ann.evaluate((iso) => new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' }).format(new Date(iso)), t.iso);
    assert.equal(t.text, local);
  }

  // The room and name are in the URL; the header says where we are.
  const url = new URL(ann.url());
  assert.equal(url.searchParams.get('room'), 'square');
  assert.equal(url.searchParams.get('name'), 'ann');
  assert.equal(await ann.locator('#room-title').textContent(), '#square');
  assert.match(await ann.title(), /#square/);

  // A third page arriving later gets the recent messages from the welcome.
  const cy = await openChat(await browser.newPage(), crier.url, 'square', 'cy');
  await waitMessage(cy, 'busy today');
  assert.deepEqual(await messageTexts(cy), expected);
  await waitMembers(ann, ['ann', 'bob', 'cy']);
  await say(cy, 'hello both');
  await waitMessage(ann, 'hello both');
  await waitMessage(bob, 'hello both');
  await screenshot(ann, 'chat-desktop');

  // The member list follows people leaving.
  await cy.close();
  await waitMembers(ann, ['ann', 'bob']);
  await waitMembers(bob, ['ann', 'bob']);
  await bob.close();
  await waitMembers(ann, ['ann']);
  assert.equal(await ann.locator('#members-count-2').textContent(), '1');
  await ann.locator('#log .system', { hasText: 'bob left' }).waitFor();
  // The name sits in a <bdi> of its own: a right-to-left name cannot reorder the sentence.
  assert.equal(await ann.locator('#log .system', { hasText: 'bob left' }).locator('bdi').last().textContent(), 'bob');
  assert.equal(await ann.locator('#members .member-name').first().evaluate((e) => getComputedStyle(e).unicodeBidi), 'isolate');
  await screenshot(ann, 'chat-desktop-after-leave');
  await ann.close();
  assert.deepEqual(browser.errors, []);
});

test('markup in messages and names is shown as text, and nothing runs', async () => {
  const xss = '<img src=x onerror=alert(1)>';
  const evil = await openChat(await browser.newPage(), crier.url, 'xss', '<b>mallory</b>');
  const victim = await openChat(await browser.newPage(), crier.url, 'xss', 'victim');
  await say(evil, xss);
  await say(evil, '<script>alert(2)</script>');
  await waitMessage(victim, '<script>alert(2)</script>');

  assert.equal(await countMessages(victim, xss), 1);
  assert.equal(await victim.locator('#log img, #log script, #log b').count(), 0);
  assert.equal(await victim.locator('#log .msg.theirs .author').first().textContent(), '<b>mallory</b>');
  assert.deepEqual(await memberNames(victim), ['<b>mallory</b>', 'victim']);
  assert.equal(await victim.locator('#members b').count(), 0);
  // No dialog opened on either page (an onerror that ran would have).
  assert.deepEqual(browser.dialogs, []);
  await screenshot(victim, 'xss-literal');
  await evil.close();
  await victim.close();
});

test('binary frames show as a placeholder line', async () => {
  const page = await openChat(await browser.newPage(), crier.url, 'bytes', 'reader');
  // Another client, in the same browser, sends four bytes as a binary frame.
  await page.evaluate((port) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/bytes?name=sender`);
    ws.onopen = () => {
      ws.send(new Uint8Array([0, 1, 2, 255]));
      ws.close();
      resolve();
    };
    ws.onerror = () => reject(new Error('could not connect'));
  }), crier.port);
  await page.locator('#log .system.binary', { hasText: 'Binary message (4 bytes)' }).waitFor();
  assert.equal(await page.locator('#log .msg').count(), 0);
  await screenshot(page, 'binary-placeholder');
  await page.close();
});
