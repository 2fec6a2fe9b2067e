// Choosing a room and a name: kept in the URL, checked before connecting, a refusal by the server
// explained, switching rooms, guests, and ?token= passed on to the WebSocket.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  chatUrl, launchBrowser, messageTexts, openChat, say, screenshot, startCrier, startGate, waitMembers,
  waitMessage, waitState,
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

function recordSockets(page) {
  const urls = [];
  page.on('websocket', (ws) => urls.push(ws.url()));
  return urls;
}

test('the chooser: pick an active room and a name, the URL keeps both, switch rooms', async () => {
  const host = await openChat(await browser.newPage(), crier.url, 'busy', 'host');
  const page = await browser.newPage();
  await page.goto(`${crier.url}/`);
  await waitState(page, 'idle');
  assert.equal(await page.locator('#chooser').isVisible(), true);
  assert.equal(await page.locator('#room').inputValue(), 'lobby');
  assert.equal(await page.locator('#join-cancel').isVisible(), false);
  // Rooms with people in them are offered.
  const chip = page.locator('#active-rooms-list .chip', { hasText: 'busy' });
  await chip.waitFor();
  assert.match(await chip.textContent(), /busy\s*1/);
  await screenshot(page, 'chooser-desktop');

  await chip.click();
  assert.equal(await page.locator('#room').inputValue(), 'busy');
  await page.locator('#name').fill('  dee  ');
  await page.locator('#name').press('Enter');
  await waitState(page, 'open');
  assert.equal(await page.locator('#chooser').isVisible(), false);
  let url = new URL(page.url());
  assert.equal(url.searchParams.get('room'), 'busy');
  assert.equal(url.searchParams.get('name'), 'dee'); // trimmed, as the server trims
  await waitMembers(page, ['dee', 'host']);
  await say(host, 'welcome dee');
  await waitMessage(page, 'welcome dee');

  // Switch to another room: a fresh log and member list; the old room sees dee leave.
  await page.locator('#switch').click();
  assert.equal(await page.locator('#join-cancel').isVisible(), true);
  await page.locator('#room').fill('quiet');
  await page.locator('#join-submit').click();
  await waitState(page, 'open');
  await waitMembers(page, ['dee']);
  assert.deepEqual(await messageTexts(page), []);
  assert.equal(await page.locator('#room-title').textContent(), '#quiet');
  url = new URL(page.url());
  assert.equal(url.searchParams.get('room'), 'quiet');
  assert.equal(url.searchParams.get('name'), 'dee');
  await waitMembers(host, ['host']);

  // A reload comes back to the same room as the same name.
  await page.reload();
  await waitState(page, 'open');
  assert.equal(await page.locator('#room-title').textContent(), '#quiet');
  assert.match(await page.locator('#status-text').textContent(), /as dee$/);
  await page.close();
  await host.close();
});

test('names and rooms the server would refuse are caught before connecting', async () => {
  const page = await browser.newPage();
  const sockets = recordSockets(page);
  await page.goto(chatUrl(crier.url, 'ok', 'x'.repeat(33)));
  await waitState(page, 'idle');
  await page.locator('#join-error', { hasText: 'at most 32 characters' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'name');
  assert.equal(sockets.length, 0);
  await screenshot(page, 'name-too-long-desktop');

  // 32 characters are fine, counted as characters, not UTF-16 units.
  await page.locator('#name').fill('é'.repeat(31) + '🦉');
  await page.locator('#join-submit').click();
  await waitState(page, 'open');
  assert.equal(sockets.length, 1);

  await page.goto(chatUrl(crier.url, 'no spaces!', 'x'));
  await waitState(page, 'idle');
  await page.locator('#join-error', { hasText: 'Room names' }).waitFor();
  await page.close();
});

test('a connection the server turns down says so and lets the user pick another name', async () => {
  const gate = await startGate(crier.port);
  try {
    // Through the gate every upgrade gets the 400 crier sends for a name it refuses.
    gate.refuseUpgrades(true);
    const page = await browser.newPage();
    await page.goto(chatUrl(gate.url, 'strict', 'zed'));
    await waitState(page, 'refused');
    const error = page.locator('#join-error');
    await error.waitFor();
    assert.match(await error.textContent(), /would not let the name “zed” into #strict\. Try another name\./);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'name');
    assert.equal(await page.locator('#retry').isVisible(), false); // it does not retry forever
    await screenshot(page, 'refused-desktop');

    gate.refuseUpgrades(false);
    await page.locator('#name').fill('zed2');
    await page.locator('#name').press('Enter');
    await waitState(page, 'open');
    assert.equal(new URL(page.url()).searchParams.get('name'), 'zed2');
    await page.close();
  } finally {
    await gate.close();
  }
});

test('guests keep their name across reconnects; ?token= goes along to the WebSocket', async () => {
  const gate = await startGate(crier.port);
  try {
    const page = await browser.newPage();
    const sockets = recordSockets(page);
    await page.goto(`${gate.url}/?room=guests&token=s3cr%20t%2B`);
    await waitState(page, 'open');
    const status = await page.locator('#status-text').textContent();
    const guest = /as (guest-[0-9a-f]{4})$/.exec(status)?.[1];
    assert.ok(guest, status);
    let ws = new URL(sockets[0]);
    assert.equal(ws.searchParams.get('token'), 's3cr t+');
    assert.equal(ws.searchParams.has('name'), false);

    gate.cut();
    await waitState(page, 'reconnecting');
    await waitState(page, 'open');
    ws = new URL(sockets.at(-1));
    assert.equal(ws.searchParams.get('name'), guest);
    assert.equal(ws.searchParams.get('token'), 's3cr t+');
    await waitMembers(page, [guest]);

    // Joining another room from the chooser keeps the token in the page URL and the socket's.
    await page.locator('#switch').click();
    await page.locator('#room').fill('tokens');
    await page.locator('#name').fill('tee');
    await page.locator('#join-submit').click();
    await waitState(page, 'open');
    assert.equal(new URL(page.url()).searchParams.get('token'), 's3cr t+');
    assert.equal(new URL(sockets.at(-1)).searchParams.get('token'), 's3cr t+');
    await screenshot(page, 'token-switched-room');
    await page.close();
  } finally {
    await gate.close();
  }
});
