// Shared pieces of the browser tests: the real crier binary on 127.0.0.1, Debian's chromium
// driven by playwright-core, a loopback gate that can cut and hold off connections, and
// screenshots kept as artifacts.
//
// Environment (set by tests/CMakeLists.txt):
//   CRIER_BINARY      the crier executable under test (required)
//   CRIER_STATIC_DIR  the page's directory (default: static/ of this source tree)
//   CRIER_ARTIFACTS   where screenshots go (default: a temp dir)
//   CRIER_CHROMIUM    the browser (default: /usr/bin/chromium)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const chromiumPath = process.env.CRIER_CHROMIUM || '/usr/bin/chromium';
export const staticDir = process.env.CRIER_STATIC_DIR || path.resolve(here, '../../static');
export const artifactsDir = process.env.CRIER_ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'crier-browser-'));

// How long any single wait may take. Generous: the machine may be busy compiling.
export const WAIT = 20000;

let playwright;
try {
  playwright = await import('playwright-core');
} catch {
  throw new Error('playwright-core is not installed under tests/node_modules; run scripts/install-deps');
}
if (!fs.existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing; run scripts/install-deps (Debian package chromium)`);

function crierBinary() {
  const bin = process.env.CRIER_BINARY;
  if (!bin) throw new Error('CRIER_BINARY is not set (ctest sets it)');
  return bin;
}

// ---- crier ----

// Starts crier on 127.0.0.1 (port 0 unless given) and resolves once its log says where it listens.
export async function startCrier({ port = 0, args = [] } = {}) {
  const argv = ['--address', '127.0.0.1', '--port', String(port), '--static-dir', staticDir, ...args];
  const child = spawn(crierBinary(), argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  let listening;
  const ready = new Promise((resolve, reject) => {
    listening = { resolve, reject };
  });
  let partial = '';
  const onData = (chunk) => {
    partial += chunk.toString('utf8');
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      log.push(line);
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (m) listening.resolve(Number(m[1]));
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = once(child, 'exit');
  exited.then(([code, signal]) => listening.reject(new Error(`crier exited (${code ?? signal}) before listening:\n${log.join('\n')}`)));
  const timer = setTimeout(() => listening.reject(new Error(`crier did not listen within ${WAIT} ms:\n${log.join('\n')}`)), WAIT);
  let boundPort;
  try {
    boundPort = await ready;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return {
    port: boundPort,
    url: `http://127.0.0.1:${boundPort}`,
    log,
    // SIGTERM (crier sends 1001 to everyone and exits), then SIGKILL if it lingers.
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 15000);
      await exited;
      clearTimeout(kill);
    },
  };
}

// ---- a gate between the browser and crier ----

// A TCP relay on 127.0.0.1 in front of crier. While open it relays; cut() drops every relayed
// connection at once (the server keeps running: to both ends it looks like the network went
// away); while held, it accepts and at once drops new connections, so reconnects fail. With
// refuseUpgrades() it answers WebSocket upgrades with 400, as crier does for a name it refuses,
// and still relays plain HTTP.
export async function startGate(targetPort) {
  const pairs = new Set();
  // Every accepted socket, relayed or not: close() ends them all. Chromium opens connections it
  // may never send on (preconnects), and server.close() would wait for those to time out.
  const accepted = new Set();
  let held = false;
  let refusing = false;
  const relay = (client, first) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    if (first) upstream.write(first);
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const server = net.createServer((client) => {
    accepted.add(client);
    client.on('close', () => accepted.delete(client));
    if (held) {
      client.destroy();
      return;
    }
    if (!refusing) {
      relay(client);
      return;
    }
    client.on('error', () => client.destroy());
    client.once('data', (first) => {
      if (/^upgrade:\s*websocket/im.test(first.toString('latin1'))) {
        client.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 14\r\nConnection: close\r\n\r\ninvalid name\r\n');
        return;
      }
      relay(client, first);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = server.address().port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get connections() { return pairs.size; },
    hold() { held = true; },
    open() { held = false; },
    refuseUpgrades(on = true) { refusing = on; },
    cut() {
      for (const { client, upstream } of pairs) {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
      pairs.clear();
    },
    async close() {
      this.cut();
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of accepted) socket.destroy();
      await closed;
    },
  };
}

// ---- chromium ----

const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// Debian's chromium with a fresh profile in a temp dir, removed again by close().
export async function launchBrowser({ phone = false } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'crier-chromium-'));
  const options = {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
    timeout: 60000,
    ...(phone
      ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }
      : { viewport: { width: 1280, height: 800 } }),
  };
  const context = await playwright.chromium.launchPersistentContext(profile, options);
  context.setDefaultTimeout(WAIT);
  const dialogs = [];
  const errors = [];
  const watch = (page) => {
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      d.dismiss().catch(() => {});
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/WebSocket connection|Failed to load resource/.test(msg.text())) errors.push(msg.text());
    });
  };
  context.on('page', watch);
  // The persistent context opens with a blank page; use it first.
  const spare = context.pages();
  spare.forEach(watch);
  return {
    context,
    dialogs, // any alert/confirm/prompt that fired (the tests expect none)
    errors, // uncaught exceptions and console errors from the page
    async newPage() {
      return spare.length ? spare.shift() : context.newPage();
    },
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// ---- the page ----

export function chatUrl(base, room, name, extra = {}) {
  const params = new URLSearchParams({ room, ...(name ? { name } : {}), ...extra });
  return `${base}/?${params}`;
}

// Opens the page in `room` as `name` and waits for its welcome.
export async function openChat(page, base, room, name, extra) {
  await page.goto(chatUrl(base, room, name, extra));
  await waitState(page, 'open');
  return page;
}

export const waitState = (page, s, timeout = WAIT) =>
  page.waitForSelector(`body[data-state="${s}"]`, { state: 'attached', timeout });

// Types `text` and presses Enter, as a user does.
export async function say(page, text) {
  await page.locator('#text').fill(text);
  await page.locator('#text').press('Enter');
}

// Waits until a message with exactly this text is in the log; returns the locator of all such.
export async function waitMessage(page, text, timeout = WAIT) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll('#log .msg .text')].some((e) => e.textContent === t),
    text,
    { timeout },
  );
}

// How many messages in the log have exactly this text.
export const countMessages = (page, text) =>
  page.evaluate((t) => [...document.querySelectorAll('#log .msg .text')].filter((e) => e.textContent === t).length, text);

export const messageTexts = (page) =>
  page.evaluate(() => [...document.querySelectorAll('#log .msg .text')].map((e) => e.textContent));

export const memberNames = (page) =>
  page.evaluate(() => [...document.querySelectorAll('#members .member-name')].map((e) => e.textContent).sort());

// Waits until the member list holds exactly `names` (in any order).
export async function waitMembers(page, names, timeout = WAIT) {
  const want = [...names].sort();
  await page.waitForFunction(
    (w) => JSON.stringify([...document.querySelectorAll('#members .member-name')].map((e) => e.textContent).sort()) === JSON.stringify(w),
    want,
    { timeout },
  );
}

export async function screenshot(page, name) {
  fs.mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}
