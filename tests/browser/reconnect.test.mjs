// When the connection goes away the page says "reconnecting…", retries with growing waits, and
// resumes with ?since=<last seq>&epoch=<epoch>: messages sent while it was away appear, and none
// appears twice, both when the server kept running and when it was restarted (new epoch, seq
// numbers starting again at 1).
//
// The page under test ("ann") reaches crier through a loopback gate (support.mjs) that can cut
// its connection and hold off its reconnects, so the test decides when it comes back. The other
// page ("bob") talks to crier directly.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  countMessages, launchBrowser, messageTexts, openChat, say, screenshot, startCrier, startGate,
  waitMembers, waitMessage, waitState,
} from './support.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

// Every WebSocket URL a page opens, in order.
function recordSockets(page) {
  const urls = [];
  page.on('websocket', (ws) => urls.push(ws.url()));
  return urls;
}

// Records each reconnect delay the page picks (it publishes them as body[data-retry-in]).
async function recordRetries(page) {
  await page.evaluate(() => {
    window.retryDelays = [];
    new MutationObserver(() => window.retryDelays.push(Number(document.body.dataset.retryIn)))
      .observe(document.body, { attributes: true, attributeFilter: ['data-retry-in'] });
  });
}

const epochOf = (page) => page.evaluate(() => document.body.dataset.epoch);

test('a dropped connection resumes from the last seq seen: nothing lost, nothing twice', async () => {
  const crier = await startCrier();
  const gate = await startGate(crier.port);
  try {
    const ann = await browser.newPage();
    const annSockets = recordSockets(ann);
    await openChat(ann, gate.url, 'relay', 'ann');
    const bob = await openChat(await browser.newPage(), crier.url, 'relay', 'bob');
    await waitMembers(ann, ['ann', 'bob']);
    await say(bob, 'one');
    await waitMessage(ann, 'one');
    const epoch = await epochOf(ann);
    assert.match(epoch, /^[0-9a-f]+$/);

    // The network between ann and the server goes away; the server keeps running.
    gate.hold();
    gate.cut();
    await waitState(ann, 'reconnecting');
    assert.equal(await ann.locator('#status-text').textContent(), 'Reconnecting…');
    await waitMembers(bob, ['bob']); // the server saw ann go
    await say(bob, 'two');
    await say(bob, 'three');
    await waitMessage(bob, 'three');
    assert.equal(await countMessages(ann, 'two'), 0);
    await screenshot(ann, 'reconnect-dropped-desktop');

    gate.open();
    await waitState(ann, 'open');
    await waitMessage(ann, 'three');
    await waitMembers(ann, ['ann', 'bob']);
    await waitMembers(bob, ['ann', 'bob']);
    await say(bob, 'four');
    await waitMessage(ann, 'four');
    await say(ann, 'back again');
    await waitMessage(bob, 'back again');
    await waitMessage(ann, 'back again');

    assert.deepEqual(await messageTexts(ann), ['one', 'two', 'three', 'four', 'back again']);
    assert.deepEqual(await messageTexts(bob), ['one', 'two', 'three', 'four', 'back again']);
    // Same epoch: a plain resume, so no "server restarted" notice.
    assert.equal(await epochOf(ann), epoch);
    assert.equal(await ann.locator('#log .system', { hasText: 'restarted' }).count(), 0);
    // The reconnect asked for what came after seq 1 of this epoch.
    const resumeUrl = new URL(annSockets.at(-1));
    assert.equal(resumeUrl.pathname, '/ws/relay');
    assert.equal(resumeUrl.searchParams.get('name'), 'ann');
    assert.equal(resumeUrl.searchParams.get('since'), '1');
    assert.equal(resumeUrl.searchParams.get('epoch'), epoch);
    assert.equal(new URL(annSockets[0]).searchParams.has('since'), false);
    await screenshot(ann, 'reconnect-resumed-desktop');
    await ann.close();
    await bob.close();
  } finally {
    await gate.close();
    await crier.stop();
  }
});

test('after a server restart on the same port the page shows what was said meanwhile, once', async () => {
  let crier = await startCrier();
  const port = crier.port;
  const gate = await startGate(port);
  try {
    const ann = await browser.newPage();
    const annSockets = recordSockets(ann);
    await openChat(ann, gate.url, 'town', 'ann');
    const bob = await openChat(await browser.newPage(), crier.url, 'town', 'bob');
    await waitMembers(ann, ['ann', 'bob']);
    await say(bob, 'before the restart');
    await waitMessage(ann, 'before the restart');
    await say(ann, 'ann was here');
    await waitMessage(bob, 'ann was here');
    const oldEpoch = await epochOf(ann);
    await recordRetries(ann);

    // Ann's reconnects are held off; the server stops (closing everyone with 1001) and a new
    // one starts on the same port, with empty history and a new epoch.
    gate.hold();
    await crier.stop();
    await waitState(ann, 'reconnecting');
    await waitState(bob, 'reconnecting');
    crier = await startCrier({ port });
    assert.equal(crier.port, port);

    // Bob is back first and speaks: seq 1 of the new epoch, while ann is still away.
    await waitState(bob, 'open');
    await say(bob, 'after the restart');
    await waitMessage(bob, 'after the restart');
    // Meanwhile ann keeps retrying, each wait longer than the last.
    await ann.waitForFunction(() => window.retryDelays.length >= 3, null, { timeout: 30000 });
    assert.equal(await ann.locator('body').getAttribute('data-state'), 'reconnecting');
    assert.equal(await countMessages(ann, 'after the restart'), 0);
    await screenshot(ann, 'reconnect-restart-waiting-desktop');

    gate.open();
    await waitState(ann, 'open', 30000);
    await waitMessage(ann, 'after the restart');
    await say(bob, 'live again');
    await waitMessage(ann, 'live again');
    await waitMessage(bob, 'live again');

    // Seq 1 of the new epoch is not mistaken for seq 1 of the old one, and nothing repeats.
    assert.deepEqual(await messageTexts(ann), ['before the restart', 'ann was here', 'after the restart', 'live again']);
    assert.deepEqual(await messageTexts(bob), ['before the restart', 'ann was here', 'after the restart', 'live again']);
    const newEpoch = await epochOf(ann);
    assert.notEqual(newEpoch, oldEpoch);
    await ann.locator('#log .system', { hasText: 'the server restarted' }).waitFor();
    const resumeUrl = new URL(annSockets.at(-1));
    assert.equal(resumeUrl.searchParams.get('since'), '2');
    assert.equal(resumeUrl.searchParams.get('epoch'), oldEpoch);
    await waitMembers(ann, ['ann', 'bob']);

    // Backoff: 0.5 s doubling, capped at 10 s, each wait drawn from the upper half.
    const delays = await ann.evaluate(() => window.retryDelays);
    delays.forEach((d, i) => {
      const ceiling = Math.min(10000, 500 * 2 ** i);
      assert.ok(d >= ceiling / 2 && d <= ceiling, `retry ${i} waited ${d} ms, expected ${ceiling / 2}..${ceiling}`);
    });

    // What was sent after the restart, by ann herself, still shows as hers.
    await say(ann, 'glad to be back');
    await waitMessage(ann, 'glad to be back');
    assert.equal(await ann.locator('#log .msg.mine').count(), 2);
    await screenshot(ann, 'reconnect-restart-resumed-desktop');
    await ann.close();
    await bob.close();
  } finally {
    await gate.close();
    await crier.stop();
  }
});
