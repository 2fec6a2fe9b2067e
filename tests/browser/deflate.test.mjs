// permessage-deflate in the browser: Chromium offers it on the page's own WebSocket, crier takes
// it (seen in the 101 through the DevTools protocol, which shows the headers as they came off the
// wire), and a long message typed in the page comes back to it, reaches a second page, and reaches
// a Node ws client in raw mode that also took the extension, all intact. The two pages make the
// room compress its crier.v1 events as one stream (--compression-context-members 2): Chromium
// inflates each with the window of the ones before it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import {
  WAIT, launchBrowser, messageTexts, openChat, say, screenshot, startCrier, waitMembers, waitMessage,
} from './support.mjs';

let crier;
let browser;

before(async () => {
  crier = await startCrier({ args: ['--compression-context-members', '2'] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await crier?.stop();
});

// A header's value from a DevTools headers object, whatever the case of its name.
function header(headers, name) {
  const key = Object.keys(headers ?? {}).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : headers[key];
}

// Records, through a CDP session of its own, the handshake of every WebSocket the page opens.
async function watchHandshakes(page) {
  const cdp = await browser.context.newCDPSession(page);
  const sockets = new Map(); // requestId -> { url, request, response }
  const waiters = [];
  const settle = () => {
    for (const w of [...waiters]) {
      const found = [...sockets.values()].find((s) => s.response && w.match(s.url));
      if (found) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(found);
      }
    }
  };
  cdp.on('Network.webSocketCreated', ({ requestId, url }) => sockets.set(requestId, { url }));
  cdp.on('Network.webSocketWillSendHandshakeRequest', ({ requestId, request }) => {
    const s = sockets.get(requestId);
    if (s) s.request = request;
  });
  cdp.on('Network.webSocketHandshakeResponseReceived', ({ requestId, response }) => {
    const s = sockets.get(requestId);
    if (s) s.response = response;
    settle();
  });
  await cdp.send('Network.enable');
  return {
    // The first socket whose URL matches, once its 101 has come.
    handshake(match) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no WebSocket handshake matching ${match} within ${WAIT} ms; saw ${JSON.stringify([...sockets.values()])}`)), WAIT);
        waiters.push({ match: (url) => match.test(url), resolve: (s) => { clearTimeout(timer); resolve(s); } });
        settle();
      });
    },
  };
}

async function counter(name) {
  const body = await (await fetch(`${crier.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(body);
  assert.ok(m, `${name} is in /metrics`);
  return Number(m[1]);
}
// The counter once it is `value`, or as it is after 10 s: crier counts a write once the socket has
// taken it, so a client may read what was written just before the counter moves.
async function counterReaching(name, value) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const v = await counter(name);
    if (v === value || Date.now() >= deadline) return v;
    await new Promise((resolve) => setTimeout(resolve, 10)); // polling interval, not synchronisation
  }
}
const compressedOut = () => counter('crier_compressed_messages_out_total');

// Chat-like text of about n characters, with some that take more than one byte in UTF-8.
function longText(n, salt) {
  const words = ['town', 'crier', 'hear', 'ye', 'the', 'market', 'opens', 'at', 'noon', 'café', 'naïve', '€', 'Ελλάδα'];
  const out = [`#${salt}`];
  for (let i = 0; out.join(' ').length < n; i++) out.push(words[(i * 5 + salt) % words.length]);
  return out.join(' ');
}

test('the page takes permessage-deflate and a long message reaches everyone intact', async () => {
  const ann = await browser.newPage();
  const annSockets = await watchHandshakes(ann);
  await openChat(ann, crier.url, 'deflate', 'ann');
  const { request, response, url } = await annSockets.handshake(/\/ws\/deflate(\?|$)/);
  assert.equal(response.status, 101);
  const offer = header(request?.headers, 'Sec-WebSocket-Extensions') ?? '';
  assert.match(offer, /permessage-deflate/, `Chromium offers the extension (url ${url})`);
  const answer = header(response.headers, 'Sec-WebSocket-Extensions');
  assert.ok(answer, `the 101 has Sec-WebSocket-Extensions: ${JSON.stringify(response.headers)}`);
  assert.match(answer, /permessage-deflate/);
  assert.doesNotMatch(answer, /server_no_context_takeover/, 'the server keeps its context');
  // Chromium offers client_max_window_bits without a value; crier picks 10.
  assert.match(answer, /client_max_window_bits=10/);
  assert.equal(header(response.headers, 'Sec-WebSocket-Protocol'), 'crier.v1');

  // A second page, and a raw-mode Node ws client that takes the extension too.
  const bob = await openChat(await browser.newPage(), crier.url, 'deflate', 'bob');
  const raw = new WebSocket(`ws://127.0.0.1:${crier.port}/ws/deflate?name=raw`, { perMessageDeflate: true });
  const rawMessages = [];
  let rawWaiter = null;
  raw.on('message', (data, isBinary) => {
    rawMessages.push({ text: data.toString('utf8'), isBinary });
    rawWaiter?.();
  });
  await once(raw, 'open');
  assert.equal(raw.extensions, 'permessage-deflate');
  await waitMembers(ann, ['ann', 'bob', 'raw']);
  await waitMembers(bob, ['ann', 'bob', 'raw']);
  const nextRaw = () => new Promise((resolve, reject) => {
    if (rawMessages.length) return resolve(rawMessages.shift());
    const timer = setTimeout(() => reject(new Error(`the ws client got nothing within ${WAIT} ms`)), WAIT);
    rawWaiter = () => {
      clearTimeout(timer);
      rawWaiter = null;
      resolve(rawMessages.shift());
    };
  });

  // Typed in the page: well over --compression-min-size (128 bytes), so it goes out compressed to
  // all three (the pages as one crier.v1 event, the ws client as the raw text).
  const before = await compressedOut();
  const typed = longText(700, 1);
  assert.ok(Buffer.byteLength(typed) > 128);
  await say(ann, typed);
  await waitMessage(ann, typed);
  await waitMessage(bob, typed);
  const got = await nextRaw();
  assert.equal(got.isBinary, false);
  assert.equal(got.text, typed);
  assert.equal(await counterReaching('crier_compressed_messages_out_total', before + 3) - before, 3,
    'compressed to ann, bob and the ws client');

  // And the other way: a long message from the ws client (which compresses it) shows in both pages.
  const fromRaw = longText(500, 2);
  raw.send(fromRaw);
  await waitMessage(ann, fromRaw);
  await waitMessage(bob, fromRaw);
  assert.equal((await nextRaw()).text, fromRaw);

  // A conversation: each event refers to the words of the ones before it in the room's stream.
  const more = [];
  const streamedBefore = await counter('crier_compressed_stream_messages_out_total');
  for (let i = 0; i < 40; i++) {
    more.push(longText(150 + (i * 37) % 300, 10 + i));
    raw.send(more[i]);
    assert.equal((await nextRaw()).text, more[i]);
  }
  await waitMessage(ann, more.at(-1));
  await waitMessage(bob, more.at(-1));
  assert.deepEqual(await messageTexts(ann), [typed, fromRaw, ...more]);
  assert.deepEqual(await messageTexts(bob), [typed, fromRaw, ...more]);
  assert.equal(await counterReaching('crier_compressed_stream_messages_out_total', streamedBefore + 2 * 40) - streamedBefore, 2 * 40,
    'every event to both pages from the room\'s stream');
  await screenshot(ann, 'deflate-long-messages');

  raw.close(1000);
  await once(raw, 'close');
  await ann.close();
  await bob.close();
  assert.deepEqual(browser.errors, []);
});
