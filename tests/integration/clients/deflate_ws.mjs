// A Node `ws` client (tests/node_modules/ws) with perMessageDeflate on, driven by
// tests/integration/test_deflate_clients.cpp over stdin and stdout, one JSON object a line.
//
//   node deflate_ws.mjs URL
//
// Prints {"event":"open","extensions":ws.extensions,"header":<Sec-WebSocket-Extensions of the
// 101>,"params":<what ws accepted>}, then {"event":"message","data":...,"binary":bool,"rsv1":bool}
// for each message (rsv1: it arrived compressed; binary data as base64). Commands on stdin:
//   {"cmd":"send","data":TEXT}  sends TEXT, then prints {"event":"sent","rsv1":bool}
//   {"cmd":"close"}             closes with 1000 and exits 0 once closed
// End of stdin closes as "close" does. When the connection ends, by either side, it prints
// {"event":"closed","code":N,"reason":...}; any error prints {"event":"error","error":...} and
// exits 1.
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
// ws keeps RSV1 to itself; its deflate extension compresses and inflates exactly the frames that
// carry it, so those calls say which messages went and came compressed. Required by file name:
// the same module instance ws uses (the package's exports map hides lib/).
const PerMessageDeflate = require(path.join(path.dirname(require.resolve('ws')), 'lib/permessage-deflate.js'));
let inflating = false;
let deflating = false;
const decompress = PerMessageDeflate.prototype.decompress;
PerMessageDeflate.prototype.decompress = function (...args) {
  inflating = true;
  return decompress.apply(this, args);
};
const compress = PerMessageDeflate.prototype.compress;
PerMessageDeflate.prototype.compress = function (...args) {
  deflating = true;
  return compress.apply(this, args);
};

const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n');
const fail = (err) => {
  emit({ event: 'error', error: String(err?.stack ?? err) });
  process.exit(1);
};

let header = null;
const ws = new WebSocket(process.argv[2], { perMessageDeflate: true, handshakeTimeout: 10000, maxPayload: 1 << 20 });
ws.on('upgrade', (res) => {
  header = res.headers['sec-websocket-extensions'] ?? '';
});
ws.on('error', fail);
ws.on('message', (data, isBinary) => {
  const rsv1 = inflating;
  inflating = false;
  emit({ event: 'message', data: isBinary ? data.toString('base64') : data.toString('utf8'), binary: isBinary, rsv1 });
});
ws.on('close', (code, reason) => {
  emit({ event: 'closed', code, reason: reason.toString() });
  process.exit(0);
});
ws.on('open', () => {
  emit({ event: 'open', extensions: ws.extensions, header, params: ws._extensions[PerMessageDeflate.extensionName]?.params ?? null });
  const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  input.on('line', (line) => {
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch (err) {
      fail(err);
    }
    if (cmd.cmd === 'send') {
      deflating = false;
      ws.send(cmd.data, (err) => {
        if (err) fail(err);
        else emit({ event: 'sent', rsv1: deflating });
      });
    } else if (cmd.cmd === 'close') {
      ws.close(1000);
    } else {
      fail(new Error(`unknown command ${line}`));
    }
  });
  input.on('close', () => ws.close(1000));
});
