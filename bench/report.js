#!/usr/bin/env node
// bench/report.js RESULTS_DIR OUT_DIR [--only-compression]
// Reads the JSON that bench/run collected (SCENARIO.SERVER.REPEAT.json) and writes
// OUT_DIR/performance.md (medians, ratios to Node ws, the issue's targets) and
// OUT_DIR/performance.png (gnuplot).
// --only-compression (bench/run gives it when it ran only v, v-max and iii-deflate): writes only
// the compression section, between its markers in the OUT_DIR/performance.md already there (or
// before its Integrity section the first time), and leaves the rest of the file and the plot alone.
'use strict';

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const args = process.argv.slice(2);
const onlyCompression = args.includes('--only-compression');
const [dir, outDir] = args.filter((a) => a !== '--only-compression');
if (!dir || !outDir) {
  console.error('usage: report.js RESULTS_DIR OUT_DIR [--only-compression]');
  process.exit(2);
}

const machine = {};
for (const line of fs.readFileSync(path.join(dir, 'machine'), 'utf8').split('\n')) {
  const i = line.indexOf('=');
  if (i > 0) machine[line.slice(0, i)] = line.slice(i + 1);
}
const load = (f) => {
  try {
    return fs.readFileSync(path.join(dir, f), 'utf8').trim();
  } catch {
    return '?';
  }
};

// runs[scenario][server] = [result...]
const runs = {};
// crier's /metrics after a run, as { name: value }, or null when bench/run kept none.
const readMetrics = (file) => {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const m = {};
  for (const line of text.split('\n')) {
    const x = /^([a-z_]+)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (x) m[x[1]] = Number(x[2]);
  }
  return m;
};
for (const f of fs.readdirSync(dir).sort()) {
  const m = /^(i1|i2c|i2s|i2b|i2|iii-deflate|iii|ii2|ii|iv|i|n2|v-max|v)\.(crier-off|crier-plain|crier|base|node|one|two|floor)\.(\d+)\.json$/.exec(f);
  if (!m) continue;
  let r = null;
  try {
    r = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  } catch {
    r = null; // crier-bench did not print a result (it failed to start or was killed)
  }
  if (r) r.metrics = readMetrics(path.join(dir, f.replace(/\.json$/, '.metrics')));
  ((runs[m[1]] ??= {})[m[2]] ??= []).push({ rep: Number(m[3]), r });
}

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const h = Math.floor(v.length / 2);
  return v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
};
const pick = (scenario, server, f) => median((runs[scenario]?.[server] ?? []).map(({ r }) => (r ? f(r) : null)));
const okCount = (scenario, server) => {
  const xs = runs[scenario]?.[server] ?? [];
  return xs.length ? `${xs.filter(({ r }) => r && r.ok).length}/${xs.length}` : '–';
};

const fmt = (x, digits = 0) =>
  x == null ? '–' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const fmtRate = (x) => (x == null ? '–' : x >= 1e6 ? `${fmt(x / 1e6, 2)} M` : x >= 1e3 ? `${fmt(x / 1e3, 1)} k` : fmt(x));
const fmtBytes = (x) => (x == null ? '–' : `${fmt(x / 1e6, 0)} MB`);
const fmtUs = (x) => (x == null ? '–' : x >= 10000 ? `${fmt(x / 1000, 1)} ms` : `${fmt(x, 0)} µs`);
const ratio = (a, b) => (a == null || b == null || b === 0 ? null : a / b);
const fmtRatio = (x) => (x == null ? '–' : `${fmt(x, 2)}×`);

// (iii): RSS per idle connection, the target of the performance issue of this round (it was 4,096 B
// in the first).
const rssTarget = 3072;
// Each row: label, crier value, node value, formatter, target {op, value, kind: 'ratio'|'abs'}.
const rows = [];
const scenarioTitles = {
  i: '(i) 100 clients, 10 senders, 64 B, 16 in flight',
  ii: '(ii) 1,000 clients, 1 sender at 100 msg/s',
  iii: '(iii) 10,000 idle connections',
  iv: '(iv) 10 clients, 10 senders, 64 KiB',
  i1: '(i) again, crier --threads 1, nothing pinned',
  i2: '(i) again, crier --threads 2, nothing pinned',
  i2c: '(i) again, crier --threads 2, both threads on CPU 0, crier-bench on CPU 1',
  i2s: '(i) again, crier --threads 2, one thread on each CPU, crier-bench on either',
  i2b: '(i) again, crier --threads 2, nothing pinned, under chrt --batch 0',
  ii2: '(ii) again, crier --threads 2, nothing pinned',
};
const add = (scenario, metric, f, format, target) => {
  if (!runs[scenario]) return;
  const c = pick(scenario, 'crier', f);
  const n = pick(scenario, 'node', f);
  rows.push({ scenario, metric, c, n, format, target });
};
const deliveries = (r) => r.deliveries_per_s;
const p99 = (r) => r.latency_us.p99;
const p50 = (r) => r.latency_us.p50;
const cpuPer = (r) => r.server.cpu_us_per_delivery;
const benchPer = (r) => r.bench.cpu_us_per_delivery;
// How much CPU the server got, and how long it was ready to run but other work had the CPU.
const cpuShare = (r) => (r.server.cpu_s == null || !r.window_s ? null : r.server.cpu_s / r.window_s);
const waitShare = (r) => (r.server.wait_for_cpu_s == null || !r.window_s ? null : r.server.wait_for_cpu_s / r.window_s);
const fmtPct = (x) => (x == null ? '–' : `${fmt(100 * x)} %`);

add('i', 'deliveries/s', deliveries, fmtRate, { op: '≥', value: 2.1, kind: 'ratio' });
add('i', 'server CPU per delivery', cpuPer, (x) => (x == null ? '–' : `${fmt(x, 3)} µs`), { op: '≤', value: 0.45, kind: 'ratio' });
add('i', 'latency p50', p50, fmtUs);
add('i', 'latency p99', p99, fmtUs);
add('i', 'load generator CPU per delivery', benchPer, (x) => (x == null ? '–' : `${fmt(x, 3)} µs`));
add('i', 'server CPU time ÷ window', cpuShare, fmtPct);
add('i', 'server threads ready but waiting for a CPU ÷ window', waitShare, fmtPct);
add('ii', 'latency p99', p99, fmtUs, { op: '≤', value: 0.08, kind: 'ratio' });
add('ii', 'latency p50', p50, fmtUs);
add('ii', 'deliveries/s (100,000 offered)', deliveries, fmtRate);
add('ii', 'server CPU per delivery', cpuPer, (x) => (x == null ? '–' : `${fmt(x, 3)} µs`));
add('ii', 'load generator CPU per delivery', benchPer, (x) => (x == null ? '–' : `${fmt(x, 3)} µs`));
add('ii', 'server CPU time ÷ window', cpuShare, fmtPct);
add('ii', 'server threads ready but waiting for a CPU ÷ window', waitShare, fmtPct);
add('iii', 'RSS per idle connection', (r) => r.server.rss_bytes_per_conn_idle, (x) => (x == null ? '–' : `${fmt(x)} B`),
  { op: '≤', value: rssTarget, kind: 'abs' });
add('iii', 'RSS per connection after 1 message each', (r) => r.server.rss_bytes_per_conn_after_traffic,
  (x) => (x == null ? '–' : `${fmt(x)} B`));
add('iii', 'time to connect 10,000', (r) => r.connect.total_s, (x) => (x == null ? '–' : `${fmt(x, 2)} s`));
add('iv', 'payload bytes/s', (r) => r.payload_bytes_per_s, (x) => (x == null ? '–' : `${fmtBytes(x)}/s`),
  { op: '≥', value: 1.6, kind: 'ratio' });
add('iv', 'latency p99', p99, fmtUs, { op: '≤', value: 1.0, kind: 'ratio' });
add('iv', 'server CPU per delivery', cpuPer, (x) => (x == null ? '–' : `${fmt(x, 2)} µs`));
add('iv', 'server CPU time ÷ window', cpuShare, fmtPct);
add('iv', 'server threads ready but waiting for a CPU ÷ window', waitShare, fmtPct);
add('i1', 'deliveries/s', deliveries, fmtRate);
add('i1', 'server CPU per delivery', cpuPer, (x) => (x == null ? '–' : `${fmt(x, 3)} µs`));
add('i1', 'latency p99', p99, fmtUs);
add('i2', 'deliveries/s', deliveries, fmtRate);
add('i2', 'server CPU per delivery', cpuPer, (x) => (x == null ? '–' : `${fmt(x, 3)} µs`));
add('i2', 'latency p99', p99, fmtUs);
add('i2', 'server CPU time ÷ window (2 CPUs)', cpuShare, fmtPct);
add('ii2', 'latency p99', p99, fmtUs);
add('ii2', 'server CPU per delivery', cpuPer, (x) => (x == null ? '–' : `${fmt(x, 3)} µs`));
add('ii2', 'server CPU time ÷ window (2 CPUs)', cpuShare, fmtPct);
for (const s of ['i2c', 'i2s', 'i2b']) {
  add(s, 'deliveries/s', deliveries, fmtRate);
  add(s, 'server CPU per delivery', cpuPer, (x) => (x == null ? '–' : `${fmt(x, 3)} µs`));
  add(s, 'server CPU time ÷ window (2 CPUs)', cpuShare, fmtPct);
}

// ---------------------------------------------------------------------------------------------
// Compression: scenarios v, v-max (crier with deflate, crier --compression off, Node ws with
// deflate) and iii-deflate. A section of its own, between markers, so that a run of only these
// scenarios can rewrite it and nothing else.
const compressionScenarios = ['v', 'v-max', 'iii-deflate'];
const compressionBegin = '<!-- compression: begin (bench/run writes this section; a run of only v, v-max and iii-deflate rewrites it and nothing else) -->';
const compressionEnd = '<!-- compression: end -->';
const compressionKinds = [
  ['crier', 'crier, deflate'],
  ['crier-off', 'crier --compression off'],
  ['node', 'Node ws, deflate'],
];
const fmtBpd = (x) => (x == null ? '–' : `${fmt(x, 1)} B`);
const fmtCpu = (x) => (x == null ? '–' : `${fmt(x, 3)} µs`);
const okRuns = (scenario, kind) => okCount(scenario, kind);
// Per run: crier's compressions per message sent, and its compressed deliveries per delivery.
const compressionsPerSent = (r) => (r.metrics?.crier_compressions_total == null || !r.sent_total ? null : r.metrics.crier_compressions_total / r.sent_total);
const streamedShare = (r) => (r.metrics?.crier_compressed_stream_messages_out_total == null || !r.received_total ? null : r.metrics.crier_compressed_stream_messages_out_total / r.received_total);
const compressedShare = (r) => (r.metrics?.crier_compressed_messages_out_total == null || !r.received_total ? null : r.metrics.crier_compressed_messages_out_total / r.received_total);
const wire = (r) => r.server.wire_bytes_per_delivery;
const payloadPer = (r) => r.payload_bytes_per_delivery;
const wireOverPayload = (r) => (wire(r) == null || !payloadPer(r) ? null : wire(r) / payloadPer(r));
const segPer = (r) => (!r.server.tcp_segments_sent ? null : r.deliveries / r.server.tcp_segments_sent);
const benchShare = (r) => (r.bench.cpu_s == null || !r.window_s ? null : r.bench.cpu_s / r.window_s);
const negotiated = (r) => r.deflate?.negotiated ?? null;
const offeredPerS = (r) => r.sent_per_s * r.clients;

// The (iii) figure this section's RSS sits beside: from this run if it ran (iii), else from the
// main table of the performance.md being updated.
const mainIii = (existing) => {
  if (runs.iii) {
    return {
      idle: pick('iii', 'crier', (r) => r.server.rss_bytes_per_conn_idle),
      after: pick('iii', 'crier', (r) => r.server.rss_bytes_per_conn_after_traffic),
      where: 'scenario (iii) of this run',
    };
  }
  const idle = /\| RSS per idle connection \| ([\d,]+) B \|/.exec(existing ?? '');
  const after = /\| RSS per connection after 1 message each \| ([\d,]+) B \|/.exec(existing ?? '');
  const from = /from the runs in `([^`]+)`/.exec(existing ?? '');
  if (!idle) return null;
  const num = (m) => (m ? Number(m[1].replace(/,/g, '')) : null);
  return { idle: num(idle), after: num(after), where: `the main table above (runs in \`${from ? from[1] : '?'}\`, 64 B messages)` };
};

function compressionSection(existing) {
  if (!compressionScenarios.some((s) => runs[s])) return null;
  let md = '## Compression (permessage-deflate)\n\n';
  const any = compressionScenarios.flatMap((s) => Object.values(runs[s] ?? {}).flat()).map(({ r }) => r).find((r) => r);
  const payloadMean = median(['v', 'v-max'].flatMap((s) => (runs[s]?.crier ?? []).map(({ r }) => (r ? payloadPer(r) : null))));
  md += `Run on ${machine.date ?? '?'}, commit ${machine.commit ?? '?'}, from \`${path.relative(path.join(__dirname, '..'), dir)}\`: `;
  md += `medians of ${machine.repeats} run(s) per server and scenario${machine.quick === '1' ? ' (**quick mode**: short runs, not for conclusions)' : ''}, `;
  md += `load average ${load('loadavg-start')} at the start and ${load('loadavg-end')} at the end. Server on CPU 0, crier-bench on CPU 1.\n\n`;
  md += '(v): 1,000 clients in one room, 4 of them sending chat messages: JSON of 150–300 bytes made of English words (`crier-bench --payload words`, ';
  md += `${payloadMean == null ? '?' : fmt(payloadMean, 0)} B on average, the same deterministic messages for every server). `;
  md += 'Every client offers permessage-deflate (Beast\'s client: `permessage-deflate; server_max_window_bits=15; client_max_window_bits=15`), inflates what comes compressed and compares every message byte for byte with what was sent; the senders compress what they send (Beast, level 8). ';
  const vRate = runs.v ? (runs.v.crier ?? runs.v.node ?? []).map(({ r }) => r?.rate).find((x) => x != null) : null;
  md += `**v**: ${vRate == null ? '?' : fmt(vRate)} msg/s per sender${vRate == null ? '' : ` (${fmt(4 * vRate)} msg/s, ${fmt(4000 * vRate)} deliveries/s offered)`}, at most 16 in flight per sender; `;
  md += '**v-max**: as fast as 16 in flight per sender allows (a message is in flight until all 1,000 clients have it). ';
  md += 'Servers: crier with compression on (its defaults: level 1, messages under 128 B plain, each broadcast compressed once for every member that took the extension; every client here lets the server keep its context with a full window, so past `--compression-context-members` (16) the room compresses its broadcasts as one stream that every member in step with it inflates, each message referring to the ones before it); ';
  md += 'crier `--compression off` (it declines the offer, so the same clients get everything plain); ';
  md += 'Node ws with `perMessageDeflate: { threshold: 128 }` and ws\'s defaults otherwise: context takeover on (serverNoContextTakeover false, so each socket\'s zlib stream keeps the window of what it sent before), zlib level 6 and memLevel 8, one compression per member per broadcast, at most 10 at once on libuv\'s pool. ';
  md += '"TCP bytes sent per delivery" is what the server\'s side of its connections sent over the measured window (tcp_info\'s `tcpi_bytes_sent` summed over the sockets on its port, from the kernel through sock_diag, as `ss -ti` shows it: WebSocket frames with their headers, compressed or not, above TCP/IP) ÷ the deliveries in that window. ';
  md += '(Not `/proc/PID/io` `wchar`: it counts write() and writev(), which Node uses, but not sendmsg(), which Asio uses, so it stays near 0 for crier.) ';
  md += 'Server CPU is utime + stime of all its threads over the window (`/proc/PID/stat`), as in the main table.\n\n';

  for (const s of ['v', 'v-max']) {
    if (!runs[s]) continue;
    const kinds = compressionKinds.filter(([k]) => runs[s][k]);
    md += `| ${s} | ${kinds.map(([, label]) => label).join(' | ')} |\n|---|${kinds.map(() => '--:').join('|')}|\n`;
    const row = (label, f, format) => {
      md += `| ${label} | ${kinds.map(([k]) => format(pick(s, k, f))).join(' | ')} |\n`;
    };
    row('deliveries/s', deliveries, fmtRate);
    if (s === 'v') {
      row('messages sent/s × 1,000 members', offeredPerS, fmtRate);
      // A sender's tick that found its window of 16 full: the server had fallen behind the rate.
      row('sends held back by the window', (r) => r.skipped_ticks, (x) => (x == null ? '–' : fmt(x)));
    }
    row('latency p50', p50, fmtUs);
    row('latency p99', p99, fmtUs);
    row('TCP bytes sent per delivery', wire, fmtBpd);
    row('payload per delivery (inflated)', payloadPer, fmtBpd);
    row('TCP bytes sent ÷ payload', wireOverPayload, (x) => (x == null ? '–' : fmt(x, 2)));
    // How much the server wrote at once: the more deliveries per segment, the fewer system calls each costs.
    row('deliveries per TCP segment sent', segPer, (x) => (x == null ? '–' : fmt(x, 2)));
    row('server CPU per delivery', cpuPer, fmtCpu);
    row('server CPU time ÷ window', cpuShare, fmtPct);
    row('server ready but waiting for a CPU ÷ window', waitShare, fmtPct);
    row('load generator CPU per delivery', benchPer, fmtCpu);
    row('load generator CPU time ÷ window', benchShare, fmtPct);
    row('load generator ready but waiting for a CPU ÷ window', (r) => (r.bench.wait_for_cpu_s == null || !r.window_s ? null : r.bench.wait_for_cpu_s / r.window_s), fmtPct);
    row('connections that took deflate', negotiated, (x) => (x == null ? '–' : fmt(x)));
    row('crier: compressions per message sent', compressionsPerSent, (x) => (x == null ? '–' : fmt(x, 3)));
    row('crier: deliveries sent compressed', compressedShare, fmtPct);
    row('crier: deliveries from the room\'s compression stream', streamedShare, fmtPct);
    row('server RSS at the end', (r) => (r.server.rss_kib_end == null ? null : r.server.rss_kib_end / 1024), (x) => (x == null ? '–' : `${fmt(x, 1)} MiB`));
    md += `| runs with no loss, gap, duplicate, reorder or corrupt message | ${kinds.map(([k]) => okRuns(s, k)).join(' | ')} |\n\n`;
    // crier-bench inflates every compressed delivery on its one CPU: where that CPU was nearly
    // always busy, latency includes the load generator's own queue, not only the server's.
    const busy = kinds.filter(([k]) => (pick(s, k, benchShare) ?? 0) >= 0.9);
    if (busy.length) {
      md += `In ${s}, crier-bench's CPU was busy ${busy.map(([k, label]) => `${fmtPct(pick(s, k, benchShare))} of the window with ${label}`).join(', ')}: `;
      md += 'latency there includes the time messages waited for the load generator to read (and inflate) them, so it is not the server\'s alone.\n\n';
    }
    if (s === 'v') {
      // A server that could not carry the offered rate: its latency here is its queue.
      const offered = 4000 * (vRate ?? 0);
      for (const [k, label] of kinds) {
        const d = pick(s, k, deliveries);
        if (offered > 0 && d != null && d < 0.95 * offered) {
          md += `${label} did not keep up with the offered ${fmtRate(offered)} deliveries/s: it delivered ${fmtRate(d)}/s, and its senders\' windows held back ${fmt(pick(s, k, (r) => r.skipped_ticks))} sends (median), so its latency in (v) is the time messages waited in its queue.\n\n`;
        }
      }
    }
  }

  // The issue's targets for compression.
  const t = [];
  const target = (what, a, b, op, value, detail) => {
    const v = ratio(a, b);
    const met = v == null ? '–' : (op === '≥' ? v >= value : v <= value) ? 'met' : '**not met**';
    t.push(`| ${what} | ${fmtRatio(v)} | ${detail} | ${op} ${fmt(value, 2)}× | ${met} |`);
  };
  for (const s of ['v', 'v-max']) {
    if (!runs[s]?.crier || !runs[s]?.['crier-off']) continue;
    const w = (k) => pick(s, k, wire);
    target(`(${s}) bytes on the wire per delivery, crier deflate ÷ crier off`, w('crier'), w('crier-off'), '≤', 0.5,
      `${fmtBpd(w('crier'))} ÷ ${fmtBpd(w('crier-off'))}`);
    const c = (k) => pick(s, k, cpuPer);
    target(`(${s}) crier CPU per delivery, deflate ÷ off`, c('crier'), c('crier-off'), '≤', 1.3, `${fmtCpu(c('crier'))} ÷ ${fmtCpu(c('crier-off'))}`);
  }
  if (runs['v-max']?.crier && runs['v-max']?.node) {
    const d = (k) => pick('v-max', k, deliveries);
    target('(v-max) deliveries/s, crier deflate ÷ Node ws deflate', d('crier'), d('node'), '≥', 5, `${fmtRate(d('crier'))} ÷ ${fmtRate(d('node'))}`);
  }
  if (t.length) {
    md += '| target | ratio | measured | target | |\n|---|--:|---|---|---|\n' + t.join('\n') + '\n\n';
    md += `CPU per delivery depends on the load as much as on the work: the more deliveries per second, the more of them crier writes to a socket in one system call (crier --compression off costs ${fmtCpu(pick('v', 'crier-off', cpuPer))} per delivery in v and ${fmtCpu(pick('v-max', 'crier-off', cpuPer))} in v-max). `;
    md += 'In (v) both crier runs carry the same offered load, so their ratio is the cost of compressing. In (v-max), where each runs as fast as the closed loop lets it (a sender\'s window moves only once all 1,000 clients have a message, and crier-bench inflates every compressed one: see its CPU per delivery), the run with deflate carries fewer deliveries per second and writes them in smaller batches';
    if (runs['v-max']?.crier && runs['v-max']?.['crier-off'] && runs.v?.crier && runs.v?.['crier-off'])
      md += ` (deliveries per TCP segment: ${fmt(pick('v-max', 'crier', segPer), 2)} with deflate against ${fmt(pick('v-max', 'crier-off', segPer), 2)} without in v-max; ${fmt(pick('v', 'crier', segPer), 2)} against ${fmt(pick('v', 'crier-off', segPer), 2)} in v)`;
    md += ', so its ratio mixes the cost of compressing with the cost of smaller writes; these runs do not separate the two, and that target is not met there. ';
    md += 'The deliveries/s target is about v-max; in (v) every server is offered the same rate, and deliveries/s only shows whether it fell behind.\n\n';
  }

  if (runs['iii-deflate']) {
    const s = 'iii-deflate';
    const idle = (r) => r.server.rss_bytes_per_conn_idle;
    const after = (r) => r.server.rss_bytes_per_conn_after_traffic;
    const fmtB = (x) => (x == null ? '–' : `${fmt(x)} B`);
    md += '**Idle connections with deflate.** (iii) again — 10,000 connections in 1,000 rooms of 10, RSS read before connecting and 5 s after the last handshake, then every client sends one message (a chat message here, compressed by its sender) and RSS is read again 1 s later — ';
    md += 'with every client offering deflate, against the same clients offering nothing:\n\n';
    md += '| server | RSS per idle connection | RSS per connection after 1 chat message each | connections that took deflate | runs ok |\n|---|--:|--:|--:|---|\n';
    for (const [k, label] of [['crier', 'crier, deflate taken'], ['crier-plain', 'crier, no deflate offered'], ['node', 'Node ws, deflate taken']]) {
      if (!runs[s][k]) continue;
      md += `| ${label} | ${fmtB(pick(s, k, idle))} | ${fmtB(pick(s, k, after))} | ${fmt(pick(s, k, negotiated))} | ${okRuns(s, k)} |\n`;
    }
    const base = mainIii(existing);
    if (base) md += `| crier, (iii) from ${base.where} | ${fmtB(base.idle)} | ${fmtB(base.after)} | – | |\n`;
    const d = pick(s, 'crier', idle);
    const p = pick(s, 'crier-plain', idle);
    if (d != null && p != null) md += `\nTaking deflate costs crier ${fmt(d - p)} B per idle connection in this run (${fmtB(d)} against ${fmtB(p)}), ${d <= rssTarget ? 'within' : '**past**'} the ${fmt(rssTarget)} B target of (iii).\n`;
    md += '\n';
  }

  // Every run of these scenarios.
  md += '| run | deliveries/s | p50 | p99 | TCP B/delivery | server µs/delivery | bench µs/delivery | deflate taken | RSS/conn idle | ok |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n';
  const failures = [];
  for (const s of compressionScenarios) {
    for (const k of ['crier', 'crier-off', 'crier-plain', 'node']) {
      for (const { rep, r } of runs[s]?.[k] ?? []) {
        if (!r) {
          md += `| ${s} ${k} #${rep} | – | – | – | – | – | – | – | – | no result |\n`;
          failures.push(`- ${s} ${k} #${rep}: no result`);
          continue;
        }
        const idleRun = r.senders === 0;
        md += `| ${s} ${k} #${rep} | ${idleRun ? 'idle' : fmtRate(r.deliveries_per_s)} | ${idleRun ? '–' : fmtUs(r.latency_us.p50)} | ${idleRun ? '–' : fmtUs(r.latency_us.p99)} | ${idleRun ? '–' : fmtBpd(wire(r))} | ${r.server.cpu_us_per_delivery ?? '–'} | ${r.bench.cpu_us_per_delivery ?? '–'} | ${fmt(negotiated(r))} | ${idleRun ? fmt(r.server.rss_bytes_per_conn_idle) + ' B' : '–'} | ${r.ok ? 'yes' : 'no'} |\n`;
        if (!r.ok) failures.push(`- ${s} ${k} #${rep}: loss ${r.loss}, gaps ${r.gaps}, duplicates ${r.duplicates}, reorders ${r.reorders}, corrupt ${r.corrupt}, errors ${r.errors}${r.drained ? '' : ', not drained'}${r.first_error ? ` (first: ${r.first_error})` : ''}`);
      }
    }
  }
  if (failures.length) md += '\nRuns that failed a check:\n\n' + failures.join('\n') + '\n';
  md += '\nReproduce this section alone (it leaves the rest of this file as it is):\n\n```sh\n' + (machine.command || 'bench/run') + '\n```\n';
  return `${compressionBegin}\n${md}${compressionEnd}\n`;
}

if (onlyCompression) {
  const file = path.join(outDir, 'performance.md');
  let doc = '';
  try {
    doc = fs.readFileSync(file, 'utf8');
  } catch {
    doc = '# crier performance\n\n';
  }
  const section = compressionSection(doc);
  if (!section) {
    console.error('report.js: no v, v-max or iii-deflate results in ' + dir);
    process.exit(1);
  }
  const b = doc.indexOf(compressionBegin.slice(0, 25));
  const e = doc.indexOf(compressionEnd);
  if (b >= 0 && e > b) doc = doc.slice(0, b) + section + doc.slice(e + compressionEnd.length + 1);
  else if (doc.includes('\n## Integrity')) doc = doc.replace('\n## Integrity', '\n' + section + '\n## Integrity');
  else doc += '\n' + section;
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(file, doc);
  process.exit(0);
}

const verdict = (row) => {
  const t = row.target;
  if (!t) return '';
  const v = t.kind === 'ratio' ? ratio(row.c, row.n) : row.c;
  if (v == null) return '–';
  const met = t.op === '≥' ? v >= t.value : v <= t.value;
  return met ? 'met' : '**not met**';
};
const targetText = (t) => (!t ? '' : t.kind === 'ratio' ? `${t.op} ${fmt(t.value, 2)}× Node` : `${t.op} ${fmt(t.value)} B`);

let md = '';
md += '# crier performance\n\n';
md += 'Generated by `bench/run` from the runs in `' + path.relative(path.join(__dirname, '..'), dir) + '`; do not edit by hand.\n\n';
md += `Medians of ${machine.repeats} run(s) per server and scenario${machine.quick === '1' ? ' (**quick mode**: short runs, not for conclusions)' : ''}. `;
md += 'The server runs on CPU 0 and crier-bench on CPU 1 (`taskset`), except in the scenarios marked "nothing pinned" and the two-node one; ';
md += 'crier and Node `ws` ran one after the other, alternating which went first. ';
md += 'Ratios are crier ÷ Node ws; the targets are the performance issue\'s.\n\n';
// How busy the machine was, from the pinned runs: the share of each window the server spent
// ready to run while other work held CPU 0.
const pinnedWaits = ['i', 'ii', 'iv']
  .flatMap((s) => ['crier', 'node'].flatMap((k) => (runs[s]?.[k] ?? []).map(({ r }) => (r ? waitShare(r) : null))))
  .filter((x) => x != null);
if (pinnedWaits.length) {
  const lo = Math.min(...pinnedWaits);
  const hi = Math.max(...pinnedWaits);
  md += `**Machine load.** Load average ${load('loadavg-start')} at the start and ${load('loadavg-end')} at the end. `;
  md += `In the pinned runs the server's threads were ready to run but waiting for a CPU ${fmt(100 * lo)}–${fmt(100 * hi)} % of the measured window`;
  md += hi > 0.1 ? ': other work on the machine took much of CPU 0, so deliveries/s and latency here measure that contention as much as the servers, and CPU time per delivery is the steadier comparison.\n\n' : '.\n\n';
}
md += '| scenario | metric | crier | Node ws | crier / Node | target | |\n|---|---|--:|--:|--:|---|---|\n';
let last = '';
for (const row of rows) {
  const title = row.scenario === last ? '' : scenarioTitles[row.scenario];
  last = row.scenario;
  const r = row.target?.kind === 'abs' ? '' : fmtRatio(ratio(row.c, row.n));
  md += `| ${title} | ${row.metric} | ${row.format(row.c)} | ${row.format(row.n)} | ${r} | ${targetText(row.target)} | ${verdict(row)} |\n`;
}
if (runs.i2 && runs.i) {
  // On 2 CPUs the load generator needs one of them, so 2 server threads get about one CPU
  // between them: what this shows is whether a second thread costs throughput, not scaling.
  const spread = (s) => {
    const v = (runs[s]?.crier ?? []).map(({ r }) => r?.deliveries_per_s).filter((x) => typeof x === 'number');
    return v.length ? `${fmtRate(Math.min(...v))}–${fmtRate(Math.max(...v))}` : '–';
  };
  const i2 = pick('i2', 'crier', deliveries);
  const vsPinned = ratio(i2, pick('i', 'crier', deliveries));
  md += `\n**Threads.** crier with 2 threads, nothing pinned, delivers ${fmtRatio(vsPinned)} what it delivers with 1 thread pinned`;
  if (runs.i1) md += ` and ${fmtRatio(ratio(i2, pick('i1', 'crier', deliveries)))} what it delivers with 1 thread and nothing pinned`;
  md += ` (runs: 2 threads ${spread('i2')}, 1 thread pinned ${spread('i')}${runs.i1 ? `, 1 thread unpinned ${spread('i1')}` : ''}). `;
  md += `The 2 threads ran ${fmtPct(pick('i2', 'crier', cpuShare))} of one CPU between them and were ready but waiting for a CPU ${fmtPct(pick('i2', 'crier', waitShare))} of the window, `;
  md += `because the load generator needs the other CPU (${fmtPct(pick('i2', 'crier', (r) => (r.bench.cpu_s == null || !r.window_s ? null : r.bench.cpu_s / r.window_s)))}): `;
  md += 'on this 2-CPU machine a second thread can only show whether it costs throughput, and scaling needs more CPUs than the load generator uses.';
  if (runs.i2c && runs.i2s) {
    const per = (s) => pick(s, 'crier', cpuPer);
    md += ` Where the scheduler puts the threads decides the result: with both on CPU 0 and crier-bench on CPU 1, 2 threads deliver ${fmtRate(pick('i2c', 'crier', deliveries))}/s (runs ${spread('i2c')}) at ${fmt(per('i2c'), 3)} µs per delivery; `;
    md += `with one thread on each CPU and crier-bench free, ${fmtRate(pick('i2s', 'crier', deliveries))}/s (runs ${spread('i2s')}) at ${fmt(per('i2s'), 3)} µs: `;
    md += 'each thread then has a CPU to itself part of the time and writes what has arrived at once, in smaller batches that cost more per delivery, on the CPUs the load generator needs.';
  }
  if (runs.i2b) {
    md += ` Under \`chrt --batch 0\` (SCHED_BATCH: crier's threads no longer preempt the load generator whenever they wake), 2 threads with nothing pinned deliver ${fmtRate(pick('i2b', 'crier', deliveries))}/s (runs ${spread('i2b')}), ${fmtRatio(ratio(pick('i2b', 'crier', deliveries), pick('i', 'crier', deliveries)))} of 1 thread pinned`;
    md += runs.i1 ? ` and ${fmtRatio(ratio(pick('i2b', 'crier', deliveries), pick('i1', 'crier', deliveries)))} of 1 thread unpinned.` : '.';
  }
  md += '\n';
}

if (runs.ii) {
  // One message of (ii) is 1,000 deliveries. Two floors under any p99 measured here: the load
  // generator's time to read them on its one CPU, and fanout-floor's, the least work a server
  // can do to send them (one send() per member from one epoll loop).
  const benchUs = pick('ii', 'crier', benchPer);
  const nodeP99 = pick('ii', 'node', p99);
  const floorP99 = pick('ii', 'floor', p99);
  const floorCpu = pick('ii', 'floor', cpuPer);
  const crierP99 = pick('ii', 'crier', p99);
  if (benchUs != null && nodeP99 != null) {
    md += `\n**(ii) and its floor.** The target, 0.08× Node's p99 here, is ${fmtUs(nodeP99 * 0.08)}. `;
    if (floorP99 != null) {
      md += `\`bench/fanout-floor\`, a raw epoll loop on one pinned thread that frames each message once and makes one \`send()\` per member straight from the read handler (no queue, lock, allocation or wake-up), gets p99 ${fmtUs(floorP99)} in the same runs, `;
      md += `spending ${fmt(floorCpu, 2)} µs of CPU per delivery, nearly all of it in the kernel's loopback TCP send (which also does the receiver's side of TCP on the sending CPU). `;
      md += `No server on one thread can beat that on this machine; crier's p99 is ${fmtRatio(ratio(crierP99, floorP99))} the floor's, and the target is ${fmtRatio(ratio(nodeP99 * 0.08, floorP99))} of it. `;
    }
    md += `The load generator, for its part, spends ${fmt(benchUs, 2)} µs of CPU per delivery in the crier runs, so reading one message from all 1,000 clients takes it about ${fmtUs(benchUs * 1000)} on its one CPU.\n`;
  }
}

// Per round: each round runs its servers back to back, so a drift in the machine's speed over
// the run moves them alike; the spread of the per-round ratios is how noise is judged.
const perRound = (scenario, a, b, f) => {
  const other = new Map((runs[scenario]?.[b] ?? []).map(({ rep, r }) => [rep, r]));
  return (runs[scenario]?.[a] ?? [])
    .map(({ rep, r }) => {
      const o = other.get(rep);
      const x = r ? f(r) : null;
      const y = o ? f(o) : null;
      return x == null || y == null || !y ? null : x / y;
    })
    .filter((x) => x != null);
};
const roundSpread = (xs) => (xs.length ? `${fmtRatio(Math.min(...xs))} – ${fmtRatio(Math.max(...xs))}` : '–');
// Student's t for a two-sided 95 % interval, by degrees of freedom (1-30; 1.96 past that).
const t95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];
// The geometric mean of per-round ratios and its 95 % confidence interval (t on their logarithms):
// how far the noise of this many rounds leaves the true ratio from the measured one.
const geoInterval = (xs) => {
  if (xs.length < 2) return null;
  const logs = xs.map(Math.log);
  const mean = logs.reduce((a, x) => a + x, 0) / logs.length;
  const sd = Math.sqrt(logs.reduce((a, x) => a + (x - mean) ** 2, 0) / (logs.length - 1));
  const half = (t95[logs.length - 2] ?? 1.96) * sd / Math.sqrt(logs.length);
  return { geo: Math.exp(mean), lo: Math.exp(mean - half), hi: Math.exp(mean + half) };
};
const fmtInterval = (ci) => (ci == null ? '–' : `${fmtRatio(ci.geo)} (${fmt(ci.lo, 2)}–${fmt(ci.hi, 2)})`);
if (runs.ii?.crier && runs.ii?.floor) {
  md += '\n### (ii) against the floor\n\n';
  md += 'The targets of (ii) are against `bench/fanout-floor`, measured in the same rounds: crier at most 1.05× the floor in server CPU per delivery and in p99. ';
  md += 'Medians; then the ratio within each round (crier and the floor run back to back, the floor first in odd rounds and last in even ones): the median of those ratios, their geometric mean with its 95 % confidence interval, and their range, which shows what noise does to one comparison. ';
  md += 'The verdict is the interval\'s: met when all of it is at or under 1.05×, not met when all of it is over, and not shown either way when it spans 1.05× (more rounds narrow it).\n\n';
  md += '| | crier | fanout-floor | crier ÷ floor | median of the rounds | geometric mean of the rounds (95 % interval) | each round | target |\n|---|--:|--:|--:|--:|--:|--:|---|\n';
  for (const [label, f, format] of [['server CPU per delivery', cpuPer, fmtCpu], ['latency p99', p99, fmtUs]]) {
    const c = pick('ii', 'crier', f);
    const fl = pick('ii', 'floor', f);
    const q = ratio(c, fl);
    const rounds = perRound('ii', 'crier', 'floor', f);
    const ci = geoInterval(rounds);
    let verdictText = q == null ? '' : q <= 1.05 ? 'met' : 'not met'; // one round: its ratio is all there is
    if (ci) verdictText = ci.hi <= 1.05 ? 'met' : ci.lo > 1.05 ? 'not met' : 'not shown: the interval spans 1.05×';
    md += `| ${label} | ${format(c)} | ${format(fl)} | ${fmtRatio(q)} | ${fmtRatio(rounds.length ? median(rounds) : null)} | ${fmtInterval(ci)} | ${roundSpread(rounds)} | ≤ 1.05× (${verdictText}) |\n`;
  }
}
// The command as a reader can use it: the baseline's path on this machine means nothing
// elsewhere, what it was built from does.
function shownCommand() {
  const binary = (machine.baseline ?? '').split(' (')[0];
  const command = machine.command || 'bench/run';
  return binary ? command.replace(binary, `<crier built at ${baselineCommit() ?? 'the baseline commit'}>`) : command;
}
// The commit the baseline binary was built from, when it sits in a git checkout's build tree;
// asked of git once.
let baselineRev;
function baselineCommit() {
  if (baselineRev !== undefined) return baselineRev;
  baselineRev = null;
  const binary = (machine.baseline ?? '').split(' (')[0];
  if (!binary) return baselineRev;
  try {
    baselineRev = require('child_process')
      .execFileSync('git', ['-C', path.dirname(binary), 'rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    // not in a checkout: the report just does not name it
  }
  return baselineRev;
}
const beforeAfter = ['i', 'ii', 'iii', 'iv', 'i1', 'i2', 'ii2'].filter((s) => runs[s]?.base && runs[s]?.crier);
const rssIdle = (r) => r.server.rss_bytes_per_conn_idle;
const rssAfter = (r) => r.server.rss_bytes_per_conn_after_traffic;
const fmtB = (x) => (x == null ? '–' : `${fmt(x)} B`);
const beforeAfterMetrics = (s) =>
  s === 'iii'
    ? [['RSS per idle connection', rssIdle, fmtB], ['RSS per connection after 1 message each', rssAfter, fmtB]]
    : s === 'iv'
      ? [['payload bytes/s', (r) => r.payload_bytes_per_s, (x) => (x == null ? '–' : `${fmtBytes(x)}/s`)], ['server CPU per delivery', cpuPer, fmtCpu], ['latency p99', p99, fmtUs]]
      : [['server CPU per delivery', cpuPer, fmtCpu], ['latency p99', p99, fmtUs], ['deliveries/s', deliveries, fmtRate]];
if (beforeAfter.length) {
  md += '\n### Before and after (--baseline)\n\n';
  md += `"Before" is the crier given to \`bench/run --baseline\`${baselineCommit() ? `, built at commit ${baselineCommit()}` : ''}, run in the same rounds as this one ("after", commit ${machine.commit ?? '?'}).\n\n`;
  md += '| scenario | metric | before | after | after ÷ before | each round |\n|---|---|--:|--:|--:|--:|\n';
  for (const s of beforeAfter) {
    let first = true;
    for (const [label, f, format] of beforeAfterMetrics(s)) {
      const b = pick(s, 'base', f);
      const a = pick(s, 'crier', f);
      md += `| ${first ? scenarioTitles[s] : ''} | ${label} | ${format(b)} | ${format(a)} | ${fmtRatio(ratio(a, b))} | ${roundSpread(perRound(s, 'crier', 'base', f))} |\n`;
      first = false;
    }
  }
}

if (runs.n2) {
  md += '\n## Two nodes through Redis (scale-out)\n\n';
  md += 'Scenario (i) with its 100 clients spread over two crier nodes joined by one redis-server (client c on node c mod 2, so half the senders and half the receivers on each), against the same on one node with `--redis` too. Nothing is pinned: the nodes, Redis and crier-bench share the 2 CPUs.\n\n';
  md += '| metric | one node | two nodes | two ÷ one |\n|---|--:|--:|--:|\n';
  const one = (f) => pick('n2', 'one', f);
  const two = (f) => pick('n2', 'two', f);
  md += `| deliveries/s | ${fmtRate(one(deliveries))} | ${fmtRate(two(deliveries))} | ${fmtRatio(ratio(two(deliveries), one(deliveries)))} |\n`;
  md += `| latency p50 | ${fmtUs(one((r) => r.latency_us.p50))} | ${fmtUs(two((r) => r.latency_us.p50))} | ${fmtRatio(ratio(two((r) => r.latency_us.p50), one((r) => r.latency_us.p50)))} |\n`;
  md += `| latency p99 | ${fmtUs(one(p99))} | ${fmtUs(two(p99))} | ${fmtRatio(ratio(two(p99), one(p99)))} |\n`;
  md += `| runs with no loss, gap, duplicate or reorder | ${okCount('n2', 'one')} | ${okCount('n2', 'two')} | |\n`;
}

const compression = compressionSection(null);
if (compression) md += '\n' + compression;

md += '\n## Integrity\n\nRuns with no loss, gaps, duplicates, reorders or errors:\n\n| scenario | crier | Node ws |\n|---|---|---|\n';
for (const s of Object.keys(scenarioTitles)) {
  if (runs[s]) md += `| ${scenarioTitles[s]} | ${okCount(s, 'crier')} | ${okCount(s, 'node')} |\n`;
}
const failures = [];
for (const [s, byServer] of Object.entries(runs)) {
  if (compressionScenarios.includes(s)) continue; // listed in their own section
  for (const [server, xs] of Object.entries(byServer)) {
    for (const { rep, r } of xs) {
      if (!r) failures.push(`- ${s} ${server} #${rep}: no result`);
      else if (!r.ok && !r.drained && r.errors === 0 && r.gaps === 0 && r.reorders === 0 && r.duplicates === 0)
        failures.push(`- ${s} ${server} #${rep}: not drained: ${r.loss} deliveries still due ${fmt(r.drain_timeout_s ?? 10)} s after sending stopped (the server fell behind the offered load; no gap, reorder or error was seen)`);
      else if (!r.ok)
        failures.push(`- ${s} ${server} #${rep}: loss ${r.loss}, gaps ${r.gaps}, duplicates ${r.duplicates}, reorders ${r.reorders}, errors ${r.errors}${r.drained ? '' : ', not drained'}${r.first_error ? ` (first: ${r.first_error})` : ''}`);
    }
  }
}
if (failures.length) md += '\n' + failures.join('\n') + '\n';

md += '\n## Every run\n\n| run | deliveries/s | p50 | p99 | max | server µs/delivery | bench µs/delivery | server RSS end | ok |\n|---|--:|--:|--:|--:|--:|--:|--:|---|\n';
for (const s of Object.keys(scenarioTitles)) {
  for (const server of ['crier', 'node', 'floor']) {
    for (const { rep, r } of runs[s]?.[server] ?? []) {
      if (!r) {
        md += `| ${s} ${server} #${rep} | – | – | – | – | – | – | – | no result |\n`;
        continue;
      }
      const idle = r.senders === 0;
      md += `| ${s} ${server} #${rep} | ${idle ? 'idle' : fmtRate(r.deliveries_per_s)} | ${idle ? '–' : fmtUs(r.latency_us.p50)} | ${idle ? '–' : fmtUs(r.latency_us.p99)} | ${idle ? '–' : fmtUs(r.latency_us.max)} | ${r.server.cpu_us_per_delivery ?? '–'} | ${r.bench.cpu_us_per_delivery ?? '–'} | ${r.server.rss_kib_end == null ? '–' : fmt(r.server.rss_kib_end / 1024, 1) + ' MiB'} | ${r.ok ? 'yes' : 'no'} |\n`;
    }
  }
}

md += '\n## How it was measured\n\n';
md += '- `crier-bench` (bench/main.cpp) is a Beast/Asio WebSocket client on one `io_context` and thread. Every message carries its sender, a per-sender sequence number and its send time (steady clock); every receiver checks them, so loss, gaps, duplicates and reordering are counted per sender, and latency is measured for every delivery, the sender\'s own echo included.\n';
md += '- A sender keeps at most its in-flight window of messages that it has sent and that not every client of its room has received yet (so the offered load follows the slowest reader, and neither server can run ahead of the load generator). (i): window 16; (iv): window 2; (ii): 100 msg/s, unbounded window.\n';
md += '- Each run: connect all clients, warm up 2 s, measure 10 s (deliveries, latency and the server\'s CPU time from `/proc/PID/stat` over exactly that window), then wait for every message to arrive.\n';
md += '- (iii): 10,000 clients in 1,000 rooms of 10; RSS (`VmRSS`) is read before connecting and 5 s after the last handshake, and RSS per connection is the difference ÷ 10,000. Then every client sends one 64 B message (each receives its room\'s 10), and RSS is read again 1 s later.\n';
md += '- crier runs as `crier --address 127.0.0.1 --port 0 --threads 1` (2 for the "--threads 2" scenario); Node ws as `node bench/peers/ws-broadcast.js` (ws, `perMessageDeflate: false`).\n';
md += '- "Server threads ready but waiting for a CPU" is the run-queue wait of all the server\'s threads, summed (so it can pass 100 % for Node\'s helper threads or crier --threads 2) (`/proc/PID/task/*/schedstat`) during the window: time the server had work but another process had CPU 0. Where it is large, deliveries/s and latency measure the machine\'s load as much as the server; CPU per delivery is the steadier comparison.\n';
md += `- The machine was not reserved: load average ${load('loadavg-start')} at the start, ${load('loadavg-end')} at the end (1, 5, 15 min). Other builds running meanwhile make every number noisier and lower.\n`;

md += '\n## Machine\n\n';
for (const k of ['date', 'commit', 'uname', 'cpu', 'cpus', 'mem', 'compiler', 'node', 'ws', 'boost']) md += `- ${k}: ${machine[k] ?? '?'}\n`;
md += '\n## Reproduce\n\n```sh\n' + shownCommand() + '\n```\n\n';
md += 'It builds the release preset, runs `npm ci` in bench/peers, and needs `taskset`, `node` and `gnuplot` (Debian `gnuplot-nox`). ';
md += '`bench/run --quick` does 1 short repeat of each, for checking the pipeline. One scenario by hand:\n\n';
md += '```sh\nbuild/release/server/crier --address 127.0.0.1 --port 0 --threads 1 &   # note the port it logs\n';
md += 'taskset -c 1 build/release/bench/crier-bench --port PORT --server-pid $! --scenario i\n```\n';
md += '\n![deliveries/s, p99 latency and RSS per connection, crier vs Node ws](performance.png)\n';

// The sections other scripts write between their own markers (bench/sse-run, bench/memory-census,
// bench/profile-ii, the hand-written ones) are theirs: a full run keeps them as they were, after
// its own.
try {
  const old = fs.readFileSync(path.join(outDir, 'performance.md'), 'utf8');
  for (const m of old.matchAll(/<!-- ([a-z-]+): begin[^>]*-->[\s\S]*?<!-- \1: end -->\n?/g)) {
    // The compression section is this run's own when it ran v, v-max or iii-deflate; else the
    // last one stands.
    if (m[1] !== 'compression' || !compression) md += '\n' + m[0];
  }
} catch {
  // no earlier file: nothing to keep
}
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'performance.md'), md);

// The plot: deliveries/s and p99 per traffic scenario (* = nothing pinned), RSS per idle
// connection for (iii).
const traffic = ['i', 'ii', 'iv', 'i1', 'i2'].filter((s) => runs[s]);
const labels = { i: '(i)', ii: '(ii)', iv: '(iv)', i1: '(i) 1 thr*', i2: '(i) 2 thr*' };
const num = (x) => (x == null ? 'NaN' : String(x));
let dat = '# scenario crier_deliveries node_deliveries crier_p99_ms node_p99_ms\n';
for (const s of traffic) {
  dat += `"${labels[s]}" ${num(pick(s, 'crier', deliveries))} ${num(pick(s, 'node', deliveries))} `;
  const ms = (x) => (x == null ? null : x / 1000);
  dat += `${num(ms(pick(s, 'crier', p99)))} ${num(ms(pick(s, 'node', p99)))}\n`;
}
const rssC = pick('iii', 'crier', (r) => r.server.rss_bytes_per_conn_idle);
const rssN = pick('iii', 'node', (r) => r.server.rss_bytes_per_conn_idle);
const rssCa = pick('iii', 'crier', (r) => r.server.rss_bytes_per_conn_after_traffic);
const rssNa = pick('iii', 'node', (r) => r.server.rss_bytes_per_conn_after_traffic);
let rss = '# what crier node\n';
rss += `"idle" ${num(rssC)} ${num(rssN)}\n"after traffic" ${num(rssCa)} ${num(rssNa)}\n`;
// Without (iii) in this run (bench/run --scenarios ...), there is no RSS panel.
const hasRss = rssC != null || rssN != null;
const tmp = fs.mkdtempSync(path.join(dir, 'plot-'));
fs.writeFileSync(path.join(tmp, 'traffic.dat'), dat);
fs.writeFileSync(path.join(tmp, 'rss.dat'), rss);
fs.writeFileSync(path.join(dir, 'traffic.dat'), dat);
const png = path.resolve(outDir, 'performance.png');
// Log axes from a power of ten below the smallest bar, so that no bar is cut off.
const floorPow10 = (xs) => {
  const v = xs.filter((x) => x != null && x > 0);
  return v.length ? 10 ** Math.floor(Math.log10(Math.min(...v) / 2)) : 1;
};
const dmin = floorPow10(traffic.flatMap((s) => [pick(s, 'crier', deliveries), pick(s, 'node', deliveries)]));
const pmin = floorPow10(traffic.flatMap((s) => [pick(s, 'crier', p99), pick(s, 'node', p99)]).map((x) => (x == null ? null : x / 1000)));
// A run of crier-only scenarios (ii2, i2c, ...) has no bars for crier against Node: it plots
// what it has, or nothing.
const hasTraffic = traffic.length > 0;
const panels = (hasTraffic ? 2 : 0) + (hasRss ? 1 : 0);
const gp = `
set terminal pngcairo size ${panels * 500},520 font "sans,11"
set output "${png}"
set multiplot layout 1,${panels} title "crier vs Node ws (medians${machine.quick === '1' ? ', quick mode' : ''}; ${machine.cpu || ''}, ${machine.date || ''})"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key below
set xtics nomirror
${hasTraffic ? `set title "deliveries/s (higher is better)"
set logscale y
set yrange [${dmin}:*]
set format y "%.0s%c"
plot "${tmp}/traffic.dat" using 2:xtic(1) title "crier" lc rgb "#1f77b4", "" using 3 title "Node ws" lc rgb "#ff7f0e"
set title "p99 latency, ms (lower is better)"
set yrange [${pmin}:*]
set format y "%g"
plot "${tmp}/traffic.dat" using 4:xtic(1) title "crier" lc rgb "#1f77b4", "" using 5 title "Node ws" lc rgb "#ff7f0e"` : ''}
${hasRss ? `unset logscale y
set title "(iii) server RSS per connection, bytes (lower is better)"
set yrange [0:*]
set format y "%.0f"
plot "${tmp}/rss.dat" using 2:xtic(1) title "crier" lc rgb "#1f77b4", "" using 3 title "Node ws" lc rgb "#ff7f0e", ${rssTarget} with lines dt 2 lc rgb "#d62728" title "target ${fmt(rssTarget)} B"` : ''}
unset multiplot
`;
fs.writeFileSync(path.join(tmp, 'plot.gp'), gp);
if (panels > 0) execFileSync('gnuplot', [path.join(tmp, 'plot.gp')], { stdio: 'inherit' });
fs.rmSync(tmp, { recursive: true, force: true });
