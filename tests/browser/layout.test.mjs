// The page on a phone-sized screen (390x844, touch, 2x): one column, nothing wider than the
// screen, the member list behind a toggle, the composer on screen.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  launchBrowser, openChat, say, screenshot, startCrier, waitMembers, waitMessage, waitState,
} from './support.mjs';

let crier;
let browser;
before(async () => {
  crier = await startCrier();
  browser = await launchBrowser({ phone: true });
});
after(async () => {
  await browser?.close();
  await crier?.stop();
});

// True when the page scrolls sideways or a visible control sticks out past the right edge.
const overflowsSideways = (page) =>
  page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth ||
    [...document.querySelectorAll('button, input, textarea, .msg, .bar > *')].some((e) => {
      const r = e.getBoundingClientRect();
      return r.width > 0 && r.right > window.innerWidth + 0.5;
    }));

test('chat on a phone', async () => {
  const ann = await openChat(await browser.newPage(), crier.url, 'pocket', 'ann');
  const bob = await openChat(await browser.newPage(), crier.url, 'pocket', 'bob');
  await waitMembers(ann, ['ann', 'bob']);
  assert.deepEqual(ann.viewportSize(), { width: 390, height: 844 });

  await say(bob, 'are you on your phone?');
  await say(ann, 'yes, walking to the square');
  await say(bob, 'a-very-long-word-without-any-spaces-that-must-wrap-instead-of-widening-the-page-0123456789');
  await say(ann, 'see you there');
  await waitMessage(ann, 'see you there');
  await waitMessage(bob, 'see you there');

  assert.equal(await overflowsSideways(ann), false);
  // The composer is on screen, and the send button with it.
  const send = await ann.locator('#send').boundingBox();
  assert.ok(send.y + send.height <= 844 && send.x + send.width <= 390, JSON.stringify(send));
  // The people list is folded away behind a toggle that shows the count.
  assert.equal(await ann.locator('#people').isVisible(), false);
  assert.equal(await ann.locator('#members-toggle').isVisible(), true);
  assert.equal(await ann.locator('#members-count').textContent(), '2');
  await screenshot(ann, 'chat-phone');

  await ann.locator('#members-toggle').tap();
  await ann.locator('#people').waitFor({ state: 'visible' });
  assert.equal(await ann.locator('#members-toggle').getAttribute('aria-expanded'), 'true');
  await ann.locator('#members li', { hasText: 'bob' }).waitFor({ state: 'visible' });
  await screenshot(ann, 'people-phone');
  await ann.locator('#members-toggle').tap();
  await ann.locator('#people').waitFor({ state: 'hidden' });

  await bob.close();
  await waitMembers(ann, ['ann']);
  assert.equal(await ann.locator('#members-count').textContent(), '1');
  await ann.close();
});

test('chooser and reconnecting banner on a phone', async () => {
  const page = await browser.newPage();
  await page.goto(`${crier.url}/`);
  await waitState(page, 'idle');
  assert.equal(await overflowsSideways(page), false);
  const card = await page.locator('#join').boundingBox();
  assert.ok(card.x >= 0 && card.x + card.width <= 390, JSON.stringify(card));
  await screenshot(page, 'chooser-phone');

  await page.locator('#room').fill('pocket');
  await page.locator('#name').fill('cy');
  await page.locator('#name').press('Enter');
  await waitState(page, 'open');
  await say(page, 'about to lose the server');
  await waitMessage(page, 'about to lose the server');
  await crier.stop();
  await waitState(page, 'reconnecting');
  assert.equal(await page.locator('#banner').isVisible(), true);
  assert.equal(await page.locator('#retry').isVisible(), true);
  assert.equal(await overflowsSideways(page), false);
  await screenshot(page, 'reconnecting-phone');
  await page.close();
});
