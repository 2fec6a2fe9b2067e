// The page with a signed token: opened with ?token= (as an application's page would be), it offers
// the token as a subprotocol entry beside crier.v1, shows the token's name, and a message an
// application's backend publishes with curl through the server API appears on it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { WAIT, launchBrowser, openChat, screenshot, startCrier, waitMessage } from './support.mjs';

const run = promisify(execFile);
const SECRET = 'browser-token-secret';
const API_KEY = 'browser-api-key';

let crier;
let browser;

before(async () => {
  crier = await startCrier({ args: ['--token-secret', SECRET, '--api-key', API_KEY] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await crier?.stop();
});

test('the page shows the token\'s name and what the server API publishes', async () => {
  const { stdout } = await run(process.env.CRIER_BINARY, [
    'token', '--secret', SECRET, '--sub', 'user-42', '--name', 'Ann Token', '--rooms', 'square=subscribe,publish,presence,history', '--ttl', '10m',
  ]);
  const token = stdout.trim();
  const page = await browser.newPage();
  const protocols = [];
  await page.exposeFunction('recordProtocols', (p) => protocols.push(p));
  await page.addInitScript(() => {
    const Native = window.WebSocket;
    window.WebSocket = function (url, p) {
      window.recordProtocols(JSON.stringify({ url, p }));
      return new Native(url, p);
    };
    window.WebSocket.prototype = Native.prototype;
    Object.assign(window.WebSocket, { OPEN: Native.OPEN, CLOSED: Native.CLOSED, CONNECTING: Native.CONNECTING, CLOSING: Native.CLOSING });
  });
  await openChat(page, crier.url, 'square', 'ignored-name', { token });
  await page.waitForFunction(() => document.querySelector('#status-text')?.textContent.includes('Ann Token'), null, { timeout: WAIT });
  // The token went as a subprotocol entry, not in the URL.
  const opened = JSON.parse(protocols[0]);
  assert.deepEqual(opened.p, ['crier.v1', `crier.token.${token}`]);
  assert.ok(!opened.url.includes(token), opened.url);

  const { stdout: answer } = await run('curl', [
    '-sS', '--max-time', '5', '-X', 'POST', '-H', `Authorization: Bearer ${API_KEY}`, '-H', 'Content-Type: application/json',
    '--data', JSON.stringify({ text: 'hello from the backend', from: { user: 'backend', name: 'Orders' } }),
    `${crier.url}/api/rooms/square/messages`,
  ]);
  assert.equal(JSON.parse(answer).seq, 1, answer);
  await waitMessage(page, 'hello from the backend');
  await screenshot(page, 'token-page');
});
