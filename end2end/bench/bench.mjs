// `make bench`: measures the release build and writes one Markdown report.
//
// Sections: bundle sizes (and what the server sends for each Accept-Encoding), how fast the page
// answers typing with the CPU slowed down 4×, page start-up cold and warm, server throughput with
// wrk, lookup latency during a flood of resets and sign-ins, and the server's memory. The report
// goes to stdout and into BENCHMARKS.md at the repository root, between the markers
// `<!-- bench:start -->` and `<!-- bench:end -->` (anything outside them is left as it is).
//
// Run by scripts/bench.sh after the release build (`cargo leptos build --release --precompress`
// and scripts/recompress.sh, as for `make test`); can be run alone:
//   node end2end/bench/bench.mjs
// Environment:
//   CARGO_TARGET_DIR      where the release server is (default: <repo>/target), as for the tests
//   BENCH_SERVER_BIN      the server binary itself (overrides the above)
//   BENCH_SITE_ROOT       the site (default: <repo>/target/site)
//   BENCH_POSTGRES_URL    (or TEST_POSTGRES_URL) also run the server section on PostgreSQL, in a
//                         fresh database created and dropped through psql
//   BENCH_SECONDS         length of each wrk run (default 10)
//   BENCH_NO_WRITE=1      print the report only, leave BENCHMARKS.md alone
//   BENCH_ONLY            comma-separated sections to run: paquete, campos, arranque, servidor,
//                         rafaga (default: all)
//   BENCH_RAW=FILE        also write the raw in-page measurements of section 2 as JSON
//
// Progress goes to stderr; only the report goes to stdout. Every server, wrk, browser, temporary
// directory and database this starts is removed on the way out, failure and Ctrl-C included.
import { chromium } from '@playwright/test';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import zlib from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR || join(repo, 'target');
const serverBin = process.env.BENCH_SERVER_BIN || join(targetDir, 'release', 'server');
const siteRoot = process.env.BENCH_SITE_ROOT || join(repo, 'target', 'site');
const pgUrl = process.env.BENCH_POSTGRES_URL || process.env.TEST_POSTGRES_URL || '';
const seconds = Number(process.env.BENCH_SECONDS || 10);
// Debian's Chromium and its flags, as the browser tests launch it.
const chromiumLaunch = JSON.parse(readFileSync(join(here, '..', 'support', 'chromium.json'), 'utf8'));
// High enough that no rate limit answers 429 in the middle of a measurement.
const SIN_LIMITE = '1000000000';

const BUSCAR_HIT = JSON.stringify({
  clasificacion: 'usuario_general',
  correo: 'maria.perez@example.com',
  identificacion: '1710034065',
});
const BUSCAR_MISS = JSON.stringify({
  clasificacion: 'usuario_general',
  correo: 'nadie@example.com',
  identificacion: '0926687856',
});
const REINICIO = JSON.stringify({
  usuario: 'mperez',
  identificacion: '1710034065',
  correo: 'maria.perez@example.com',
});

const log = (...args) => console.error('[bench]', ...args);

// ---------------------------------------------------------------------------------------------
// Clean-up. Everything started is registered here; `exit` runs the synchronous part even when an
// exception or a signal ends the process, so nothing outlives the bench.

const children = new Set(); // ChildProcess (Playwright kills its own browsers on exit)
const tempDirs = new Set();
const databases = new Set(); // PostgreSQL databases to drop: { admin, name }

function cleanupSync() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {}
    }
  }
  children.clear();
  for (const { admin, name } of databases) {
    spawnSync('psql', [admin, '-q', '-c', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`], {
      stdio: 'ignore',
      timeout: 15_000,
    });
  }
  databases.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
process.on('exit', cleanupSync);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    log(`${signal}: limpiando`);
    process.exit(130);
  });
}

function tempDir(prefix) {
  const dir = mkdtempSync(join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function stopChild(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

/** Nearest-rank percentile of an array of numbers (sorted or not). */
function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

const ms = (v) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : '—');
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
// Digits grouped with a narrow no-break space, which reads the same in Spanish and English.
const bytesFmt = (n) => `${String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f')} B`;
const mib = (kb) => `${(kb / 1024).toFixed(1)} MiB`;

function table(headers, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A plain HTTP GET that returns the bytes as sent (no decompression) and the headers. */
function rawGet(url, headers = {}) {
  return new Promise((resolveGet, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolveGet({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`tiempo agotado: ${url}`)));
  });
}

function output(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** VmRSS and VmHWM (peak) of a process, in kB. */
function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'))?.[1]);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

function countFiles(dir) {
  try {
    return readdirSync(dir).length;
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------------------------------------
// The server under test.

/** The binary may be in the middle of a rebuild: wait for it instead of failing at once. */
async function waitForBinary(timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  let said = false;
  while (!existsSync(serverBin)) {
    if (Date.now() > deadline) {
      throw new Error(`no existe ${serverBin}: ¿corrió cargo leptos build --release?`);
    }
    if (!said) log(`esperando a ${serverBin} …`);
    said = true;
    await sleep(2000);
  }
}

/**
 * Seeds the demo registrations and starts `server serve` on a free port. `databaseUrl` is a
 * sqlite:// or postgres:// URL; e-mail goes to a folder, so every reset really is sent.
 */
async function startServer(label, databaseUrl) {
  const dir = tempDir(`reinicio-bench-${label}-`);
  const mailDir = join(dir, 'correo');
  const env = {
    ...process.env,
    REINICIO_LISTEN_ADDR: '127.0.0.1:0',
    REINICIO_PUBLIC_BASE_URL: 'http://localhost',
    REINICIO_DATABASE_URL: databaseUrl ?? `sqlite://${join(dir, 'bench.sqlite3')}?mode=rwc`,
    REINICIO_MAIL_URL: `file://${mailDir}`,
    REINICIO_LOG_LEVEL: 'warn',
    REINICIO_LOG_FORMAT: 'text',
    REINICIO_LIMITE_BUSQUEDAS_POR_HORA: SIN_LIMITE,
    REINICIO_LIMITE_REINICIOS_POR_HORA: SIN_LIMITE,
    REINICIO_LIMITE_IP_POR_MINUTO: SIN_LIMITE,
    REINICIO_LIMITE_IP_RAFAGA: SIN_LIMITE,
    REINICIO_SIGN_IN_LIMIT_PER_MINUTE: SIN_LIMITE,
    REINICIO_SIGN_IN_LIMIT_BURST: SIN_LIMITE,
    LEPTOS_SITE_ROOT: siteRoot,
    LEPTOS_ENV: 'PROD',
  };

  // A rebuild may swap the binary between the existence check and exec: retry a few times.
  for (let attempt = 1; ; attempt++) {
    await waitForBinary();
    const seed = spawnSync(serverBin, ['seed-demo'], { env, encoding: 'utf8', timeout: 120_000 });
    if (seed.status === 0) break;
    if (attempt >= 3) {
      throw new Error(`seed-demo falló (${label}): ${seed.error ?? ''}\n${seed.stderr ?? ''}`);
    }
    log(`seed-demo falló (intento ${attempt}), reintentando: ${seed.error ?? seed.stderr}`);
    await sleep(3000);
  }

  const child = track(spawn(serverBin, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  let logText = '';
  const keep = (c) => {
    logText = (logText + c.toString()).slice(-20_000);
  };
  child.stderr.on('data', keep);
  const url = await new Promise((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`el servidor no arrancó:\n${logText}`)),
      60_000,
    );
    child.stdout.on('data', (c) => {
      keep(c);
      out += c.toString();
      const m = out.match(/Sirviendo en (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`el servidor terminó al arrancar (${code ?? signal}):\n${logText}`));
    });
  });
  for (let i = 0; ; i++) {
    const r = await rawGet(`${url}/healthz`).catch(() => null);
    if (r?.status === 200) break;
    if (i > 50) throw new Error(`/healthz no responde 200 (${label})`);
    await sleep(200);
  }
  log(`servidor ${label} en ${url} (pid ${child.pid})`);
  return {
    label,
    url,
    child,
    mailDir,
    pid: child.pid,
    log: () => logText,
    stop: () => stopChild(child),
  };
}

/** Numbers from a server that died half-way would be meaningless: stop with its log instead. */
function ensureAlive(server) {
  const { exitCode, signalCode } = server.child;
  if (exitCode !== null || signalCode !== null) {
    throw new Error(
      `el servidor ${server.label} terminó (${exitCode ?? signalCode}):\n${server.log()}`,
    );
  }
}

/** After a run that queued resets: let the outbox worker finish, so runs don't overlap. */
async function waitForOutbox(server, maxMs = 30_000) {
  const deadline = Date.now() + maxMs;
  let last = countFiles(server.mailDir);
  let stableSince = Date.now();
  while (Date.now() < deadline && Date.now() - stableSince < 1500) {
    await sleep(250);
    const now = countFiles(server.mailDir);
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// wrk.

/** wrk prints latencies as 812.00us, 1.23ms, 2.00s, 1.50m. */
function toMs(text) {
  const m = text.match(/^([\d.]+)(us|ms|s|m|h)$/);
  if (!m) return NaN;
  const factor = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2]];
  return Number(m[1]) * factor;
}

function parseWrk(text) {
  const num = (re) => {
    const m = text.match(re);
    return m ? Number(m[1]) : NaN;
  };
  const socket = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const statuses = {};
  for (const m of text.matchAll(/^bench-status (\S+) (\d+)$/gm)) statuses[m[1]] = Number(m[2]);
  const seen = {};
  for (const m of text.matchAll(/^bench-seen (\S+) (\d+)$/gm)) seen[m[1]] = Number(m[2]);
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    p50: toMs(text.match(/^\s+50%\s+(\S+)/m)?.[1] ?? ''),
    p99: toMs(text.match(/^\s+99%\s+(\S+)/m)?.[1] ?? ''),
    socketErrors: socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    // Reads are the one kind a healthy run can also show (the server closing idle keep-alives).
    socketDetail: socket ? socket[0] : '',
    unexpected: num(/^bench-unexpected (\d+)$/m),
    statuses,
    seen,
  };
}

/** Runs wrk with one of the Lua scripts here; resolves with the parsed summary. */
async function wrk({ url, script, env = {}, threads = 2, connections = 32, duration = seconds }) {
  const args = [
    `-t${threads}`,
    `-c${connections}`,
    `-d${duration}s`,
    '--timeout',
    '10s',
    '--latency',
    '-s',
    join(here, script),
    url,
  ];
  const child = track(
    spawn('wrk', args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const code = await new Promise((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`wrk ${args.join(' ')} falló (${code}):\n${err}${out}`);
  const parsed = parseWrk(out);
  if (!Number.isFinite(parsed.rps)) throw new Error(`no se entiende la salida de wrk:\n${out}`);
  return { ...parsed, raw: out };
}

const errores = (r) => r.socketErrors + (Number.isFinite(r.unexpected) ? r.unexpected : 0);
const detalleErrores = (r) => {
  const parts = Object.entries(r.statuses).map(([code, n]) => `${n}×${code}`);
  if (r.socketErrors) parts.push(r.socketDetail.toLowerCase());
  return parts.length ? `${errores(r)} (${parts.join(', ')})` : '0';
};

// ---------------------------------------------------------------------------------------------
// 0. The machine.

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? 'desconocido';
  const cores = os.cpus().length;
  const memKb = Number(readFileSync('/proc/meminfo', 'utf8').match(/MemTotal:\s+(\d+)/)?.[1]);
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const pretty = osRelease.match(/^PRETTY_NAME="?([^"\n]+)"?/m)?.[1] ?? 'desconocido';
  const debianVersion = existsSync('/etc/debian_version')
    ? readFileSync('/etc/debian_version', 'utf8').trim()
    : '';
  const cargoBin = join(os.homedir(), '.cargo', 'bin');
  const rustc =
    output('rustc', ['--version']) ??
    output(join(cargoBin, 'rustc'), ['--version']) ??
    'desconocido';
  const commit = output('git', ['-C', repo, 'rev-parse', '--short', 'HEAD']) ?? 'desconocido';
  const dirty = output('git', ['-C', repo, 'status', '--porcelain', '--untracked-files=no']);
  const wrkVersion = (spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout || '')
    .split('\n')[0]
    .replace(/ Copyright.*/, '')
    .trim();
  return {
    model,
    cores,
    memKb,
    kernel: os.release(),
    debian: debianVersion ? `${pretty} (${debianVersion})` : pretty,
    rustc,
    commit: dirty ? `${commit} (con cambios sin commit)` : commit,
    wrk: wrkVersion || 'desconocido',
    load: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' / '),
  };
}

// ---------------------------------------------------------------------------------------------
// 1. Bundle.

/**
 * The bundle's files, found by extension (names may carry a content hash). If a stale file sits
 * beside the current one, the one the page refers to wins, else the newest.
 */
function bundleFiles(html) {
  const pkg = join(siteRoot, 'pkg');
  const names = readdirSync(pkg);
  const pick = (ext) => {
    const found = names.filter((n) => n.endsWith(ext));
    if (found.length === 0) throw new Error(`no hay ningún *${ext} en ${pkg}`);
    const referenced = found.filter((n) => html.includes(n));
    const pool = referenced.length ? referenced : found;
    pool.sort((a, b) => statSync(join(pkg, b)).mtimeMs - statSync(join(pkg, a)).mtimeMs);
    return { name: pool[0], path: join(pkg, pool[0]), url: `/pkg/${pool[0]}` };
  };
  return { wasm: pick('.wasm'), js: pick('.js'), css: pick('.css') };
}

const sizes = (buf) => ({
  raw: buf.length,
  gzip: zlib.gzipSync(buf, { level: 9 }).length,
  br: zlib.brotliCompressSync(buf, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
    },
  }).length,
});

async function bundleSection(server) {
  log('1. paquete');
  const page = await rawGet(`${server.url}/`);
  if (page.status !== 200) throw new Error(`GET / respondió ${page.status}`);
  const files = bundleFiles(page.body.toString('utf8'));
  const measured = Object.fromEntries(
    Object.entries(files).map(([k, f]) => [k, sizes(readFileSync(f.path))]),
  );
  const html = sizes(page.body);
  const total = ['wasm', 'js', 'css'].reduce(
    (acc, k) => ({
      raw: acc.raw + measured[k].raw,
      gzip: acc.gzip + measured[k].gzip,
      br: acc.br + measured[k].br,
    }),
    { raw: 0, gzip: 0, br: 0 },
  );
  const row = (label, s) => [label, kib(s.raw), kib(s.gzip), kib(s.br)];
  const sizesTable = table(
    ['Archivo', 'Sin comprimir', 'gzip -9', 'brotli 11'],
    [
      row(`WASM (\`${files.wasm.name}\`)`, measured.wasm),
      row(`JS (\`${files.js.name}\`)`, measured.js),
      row(`CSS (\`${files.css.name}\`)`, measured.css),
      row('**WASM + JS + CSS**', total),
      [
        'HTML de `/` (tal como se sirve)',
        bytesFmt(html.raw),
        bytesFmt(html.gzip),
        bytesFmt(html.br),
      ],
    ],
  );

  // What the server itself sends: precompressed or compressed on the fly, and for how long a
  // browser may keep it.
  const served = [];
  for (const [label, path] of [
    ['WASM', files.wasm.url],
    ['JS', files.js.url],
    ['CSS', files.css.url],
    ['HTML `/`', '/'],
  ]) {
    for (const encoding of ['br', 'gzip']) {
      const r = await rawGet(`${server.url}${path}`, { 'Accept-Encoding': encoding });
      served.push([
        label,
        `\`${encoding}\``,
        String(r.status),
        r.headers['content-encoding'] ? `\`${r.headers['content-encoding']}\`` : 'ninguno',
        bytesFmt(r.body.length),
        r.headers['cache-control'] ? `\`${r.headers['cache-control']}\`` : 'ninguno',
      ]);
    }
  }
  const servedTable = table(
    ['Recurso', 'Accept-Encoding', 'Estado', 'Content-Encoding', 'Bytes enviados', 'Cache-Control'],
    served,
  );
  return [
    '### 1. Tamaño del paquete',
    '',
    'Archivos de `target/site/pkg` del build de release; gzip y brotli calculados ' +
      'con `zlib` de Node (nivel 9 y calidad 11), es decir lo mínimo que costaría enviarlos.',
    '',
    sizesTable,
    '',
    'Lo que el servidor envía de verdad según `Accept-Encoding`:',
    '',
    servedTable,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Browser measurements (sections 2 and 3).

// Installed before any page script: records interaction latencies from the Event Timing API and
// from our own next-frame probe, long tasks, and the moment the page becomes interactive.
function pageProbe() {
  const b = (window.__bench = { events: [], frames: [], longtasks: [], hidratada: null });
  const observe = (options, sink) => {
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) sink(e);
      }).observe(options);
    } catch {}
  };
  // Event Timing: only events of 16 ms or more are ever reported (the API's minimum threshold),
  // durations rounded to 8 ms.
  observe({ type: 'event', buffered: true, durationThreshold: 16 }, (e) =>
    b.events.push({
      name: e.name,
      startTime: e.startTime,
      duration: e.duration,
      inputDelay: e.processingStart - e.startTime,
      interactionId: e.interactionId,
      target: e.target?.id ?? '',
    }),
  );
  observe({ type: 'longtask', buffered: true }, (e) =>
    b.longtasks.push({ startTime: e.startTime, duration: e.duration }),
  );

  // Our own probe, for every interaction, from the event's timestamp (the keydown's, when a key
  // caused the input) to two points:
  // - handlers: the end of the last listener of the input/change events, one added on `window`
  //   for the bubbling phase, which runs after the page's own (and after the microtasks its
  //   reactive updates queue);
  // - next frame: a task queued from the next animation frame, i.e. just after the frame that
  //   shows the result has been produced. This includes waiting for that frame (up to 16.7 ms at
  //   60 Hz), as Event Timing's duration does.
  let keydownAt = null;
  let current = null; // the interaction whose input/change events are being dispatched
  addEventListener(
    'keydown',
    (e) => {
      keydownAt = e.timeStamp;
      setTimeout(() => (keydownAt = null), 0); // an input caused by this key comes before this
    },
    true,
  );
  // Headless Chromium does not present a frame whose only change is the text inside a text
  // field (no presentation feedback until some other part of the page changes), so Event Timing
  // would report every keystroke as ending at the next unrelated change, seconds later, or not at
  // all. A 1-pixel dot recoloured in the frame after each input gives that frame something to
  // present; painting it costs next to nothing.
  let dot = null;
  const pace = () => {
    if (!dot) {
      dot = document.createElement('div');
      dot.style.cssText =
        'position:fixed;left:0;top:0;width:1px;height:1px;pointer-events:none;z-index:2147483647';
      document.documentElement.append(dot); // outside <body>, which the app hydrates
    }
    dot.style.background =
      dot.style.background === 'rgb(0, 0, 1)' ? 'rgb(0, 0, 2)' : 'rgb(0, 0, 1)';
  };
  const handled = () => {
    if (current) current.handlers = performance.now() - current.start;
  };
  addEventListener(
    'input',
    (e) => {
      const start = keydownAt ?? e.timeStamp;
      keydownAt = null;
      const record = { start, target: e.target?.id ?? '', handlers: NaN, latency: NaN };
      current = record;
      requestAnimationFrame(() => {
        pace();
        const channel = new MessageChannel();
        channel.port1.onmessage = () => {
          record.latency = performance.now() - start;
          b.frames.push(record);
          if (current === record) current = null;
        };
        channel.port2.postMessage(0);
      });
    },
    true,
  );
  // A select's `change` follows its `input` in the same task, so it extends the same record.
  for (const type of ['input', 'change']) {
    addEventListener(type, () => addEventListener(type, handled, { once: true }), true);
  }

  // Hydration ends when the page flips `data-interactiva` to "si".
  const check = () => {
    if (b.hidratada === null && document.querySelector('main[data-interactiva="si"]')) {
      b.hidratada = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ['data-interactiva'],
  });
}

async function waitHydrated(page) {
  await page.waitForFunction(() => window.__bench?.hidratada != null, null, { timeout: 30_000 });
}

/** Resolves after the next frame has been produced. */
const nextFrame = (page) =>
  page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));

/** Event Timing entries of one phase, grouped into interactions (worst entry of each). */
function interactions(events, from, to) {
  const byId = new Map();
  for (const e of events) {
    if (e.interactionId > 0 && e.startTime >= from && e.startTime < to) {
      const prev = byId.get(e.interactionId);
      if (!prev || e.duration > prev.duration) byId.set(e.interactionId, e);
    }
  }
  return [...byId.values()];
}

async function fieldSection(browser, server) {
  log('2. respuesta de los campos (CPU 4× más lenta)');
  const context = await browser.newContext({ locale: 'es-EC' });
  try {
    await context.addInitScript(pageProbe);
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await waitHydrated(page);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    const now = () => page.evaluate(() => performance.now());

    // 50 characters typed one at a time into the identification field.
    await page.click('#b-identificacion');
    await nextFrame(page);
    const typingFrom = await now();
    const text = '1710034065'.repeat(5);
    for (const ch of text) {
      await page.keyboard.press(ch);
      await sleep(30);
    }
    await nextFrame(page);
    const typingTo = await now();

    // 20 changes of the classification. With the keyboard (arrow keys on the focused, closed
    // select), which makes real, trusted events; Event Timing ignores the synthetic ones that
    // selectOption dispatches. If the keys do not change the value, selectOption it is.
    const selectFrom = await now();
    await page.focus('#b-clasificacion');
    const values = await page.$$eval('#b-clasificacion option', (os) => os.map((o) => o.value));
    let selectMethod = 'con las flechas del teclado';
    for (let i = 0; i < 20; i++) {
      const before = await page.inputValue('#b-clasificacion');
      const down = i < values.length - 1; // down to the last option, then back up
      if (selectMethod.startsWith('con las flechas')) {
        await page.keyboard.press(down ? 'ArrowDown' : 'ArrowUp');
        if ((await page.inputValue('#b-clasificacion')) === before) {
          selectMethod = 'con selectOption: eventos sintéticos, que Event Timing no ve';
        }
      }
      if (!selectMethod.startsWith('con las flechas')) {
        const idx = values.indexOf(before);
        await page.selectOption('#b-clasificacion', values[(idx + 1) % values.length]);
      }
      await sleep(30);
    }
    await nextFrame(page);
    await sleep(300); // let the last frames and the observers' callbacks come in
    const selectTo = await now();

    const b = await page.evaluate(() => window.__bench);
    if (process.env.BENCH_RAW) {
      writeFileSync(
        process.env.BENCH_RAW,
        JSON.stringify({ typingFrom, typingTo, selectFrom, selectTo, ...b }, null, 1),
      );
    }
    const phases = [
      { label: 'Escribir en `#b-identificacion`', n: text.length, from: typingFrom, to: typingTo },
      { label: 'Cambiar `#b-clasificacion`', n: 20, from: selectFrom, to: selectTo },
    ];
    const target = (v) => (Number.isFinite(v) ? (v <= 16 ? 'sí' : '**no**') : '—');
    const ownRows = [];
    const etRows = [];
    for (const ph of phases) {
      const records = b.frames.filter((f) => f.start >= ph.from && f.start < ph.to);
      const frames = records.map((f) => f.latency);
      const handlers = records.map((f) => f.handlers).filter(Number.isFinite);
      const p95 = percentile(frames, 95);
      ownRows.push([
        ph.label,
        `${frames.length} de ${ph.n}`,
        ms(percentile(handlers, 50)),
        ms(percentile(handlers, 95)),
        ms(percentile(frames, 50)),
        ms(p95),
        ms(Math.max(...frames)),
        target(p95),
      ]);

      const reported = interactions(b.events, ph.from, ph.to);
      const durations = reported.map((e) => e.duration);
      // The interactions the API did not report were under 16 ms: -1 stands for "< 16".
      const all = [...durations, ...Array(Math.max(0, ph.n - durations.length)).fill(-1)];
      const et = (p) => {
        const v = percentile(all, p);
        return v < 0 ? '< 16 ms' : ms(v);
      };
      const etP95 = percentile(all, 95);
      const delays = b.events
        .filter((e) => e.startTime >= ph.from && e.startTime < ph.to)
        .map((e) => e.inputDelay);
      etRows.push([
        ph.label,
        String(ph.n),
        `${durations.length} de ${ph.n}`,
        et(50),
        et(95),
        durations.length ? ms(Math.max(...durations)) : '< 16 ms',
        delays.length ? ms(Math.max(...delays)) : '—',
        etP95 < 0 ? 'sí' : target(etP95),
      ]);
    }
    const longDuring = b.longtasks.filter((t) => t.startTime >= typingFrom).map((t) => t.duration);
    const longLoad = b.longtasks.filter((t) => t.startTime < typingFrom).map((t) => t.duration);
    const longText = (list) =>
      list.length
        ? `${ms(Math.max(...list))} (${list.length} ${list.length === 1 ? 'tarea' : 'tareas'} ` +
          '≥ 50 ms)'
        : 'ninguna ≥ 50 ms';

    return [
      '### 2. Respuesta de los campos',
      '',
      'Chromium con la CPU 4× más lenta (`Emulation.setCPUThrottlingRate`), después de la ' +
        'hidratación: 50 caracteres tecleados uno a uno (30 ms entre teclas) y 20 cambios de ' +
        `clasificación ${selectMethod}. La validación corre en WASM en cada evento, sin red.`,
      '',
      'Medido en la página para cada interacción, desde el `timeStamp` del evento (el del ' +
        '`keydown` si lo causó una tecla): **manejadores** hasta que terminó el último manejador ' +
        'de `input`/`change` (con las actualizaciones reactivas que encolan); ' +
        '**siguiente cuadro** ' +
        'hasta una tarea encolada desde el `requestAnimationFrame` siguiente, o sea ya producido ' +
        'el cuadro que muestra el resultado. Esta última incluye esperar ese cuadro (hasta ' +
        '16,7 ms a 60 Hz), como la duración de Event Timing.',
      '',
      table(
        [
          'Interacción',
          'Medidas',
          'Manejadores p50',
          'Manejadores p95',
          'Siguiente cuadro p50',
          'p95',
          'máx.',
          'Objetivo p95 ≤ 16 ms',
        ],
        ownRows,
      ),
      '',
      'Event Timing (`PerformanceObserver`, `durationThreshold: 16`): el navegador solo informa ' +
        'eventos de 16 ms o más (el umbral mínimo de la API; duraciones redondeadas a 8 ms). Por ' +
        'interacción cuenta su evento más lento; los percentiles son sobre las N interacciones ' +
        'hechas, con las no informadas como “< 16 ms”. Chromium sin cabeza no presenta un cuadro ' +
        'cuyo único cambio es el texto de un campo, así que la sonda recolorea un punto de 1 px ' +
        'en ' +
        'el cuadro siguiente a cada entrada; sin eso, Event Timing fecharía cada tecla en el ' +
        'siguiente cambio ajeno de la página, segundos después.',
      '',
      table(
        [
          'Interacción',
          'N',
          'Informadas (≥ 16 ms)',
          'p50',
          'p95',
          'máx.',
          'Retraso de entrada máx.',
          'Objetivo p95 ≤ 16 ms',
        ],
        etRows,
      ),
      '',
      table(
        ['Tareas largas (`longtask`)', 'Más larga'],
        [
          ['Durante las interacciones (CPU 4×)', longText(longDuring)],
          ['Durante la carga y la hidratación (CPU normal)', longText(longLoad)],
        ],
      ),
    ].join('\n');
  } finally {
    await context.close();
  }
}

async function loadOnce(page, navigate) {
  await navigate();
  await waitHydrated(page);
  await nextFrame(page);
  return page.evaluate(() => {
    const paint = Object.fromEntries(
      performance.getEntriesByType('paint').map((e) => [e.name, e.startTime]),
    );
    return {
      hydrated: window.__bench.hidratada,
      fp: paint['first-paint'] ?? NaN,
      fcp: paint['first-contentful-paint'] ?? NaN,
    };
  });
}

async function startupSection(browser, server) {
  log('3. arranque: 20 cargas en frío y 20 en caliente');
  const url = `${server.url}/`;
  const runs = 20;
  const cold = [];
  for (let i = 0; i < runs; i++) {
    // A new context has an empty HTTP cache and no compiled-code cache.
    const context = await browser.newContext({ locale: 'es-EC' });
    try {
      await context.addInitScript(pageProbe);
      const page = await context.newPage();
      cold.push(await loadOnce(page, () => page.goto(url)));
    } finally {
      await context.close();
    }
  }
  const warm = [];
  const context = await browser.newContext({ locale: 'es-EC' });
  try {
    await context.addInitScript(pageProbe);
    const page = await context.newPage();
    await loadOnce(page, () => page.goto(url)); // fills the cache
    for (let i = 0; i < runs; i++) warm.push(await loadOnce(page, () => page.reload()));
  } finally {
    await context.close();
  }
  const row = (label, list) => {
    const pick = (k) => list.map((r) => r[k]).filter(Number.isFinite);
    return [
      label,
      String(list.length),
      ms(percentile(pick('fp'), 50)),
      ms(percentile(pick('fcp'), 50)),
      ms(percentile(pick('fcp'), 95)),
      ms(percentile(pick('hydrated'), 50)),
      ms(percentile(pick('hydrated'), 95)),
    ];
  };
  return [
    '### 3. Arranque de la página',
    '',
    'Carga de `/` desde localhost, sin limitar CPU ni red. En frío: un contexto nuevo por carga ' +
      '(caché vacía); en caliente: recargas en el mismo contexto tras una primera carga. ' +
      'Tiempos desde el inicio de la navegación; “interactiva” es cuando aparece ' +
      '`main[data-interactiva="si"]` (hidratación terminada).',
    '',
    table(
      ['Carga', 'N', 'first-paint p50', 'FCP p50', 'FCP p95', 'Interactiva p50', 'Interactiva p95'],
      [row('En frío', cold), row('En caliente', warm)],
    ),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// 4. Server throughput, 5. lookups during a flood, 6. memory.

async function throughputSection(server) {
  log(`4. servidor (${server.label})`);
  const scenarios = [
    {
      name: '`POST /api/buscar_id` (encontrado)',
      path: '/api/buscar_id',
      env: { BENCH_METHOD: 'POST', BENCH_BODY: BUSCAR_HIT, BENCH_EXPECT: '200' },
    },
    {
      name: '`POST /api/buscar_id` (no encontrado, 404 esperado)',
      path: '/api/buscar_id',
      env: { BENCH_METHOD: 'POST', BENCH_BODY: BUSCAR_MISS, BENCH_EXPECT: '404' },
    },
    {
      name: '`POST /api/solicitar_reinicio`',
      path: '/api/solicitar_reinicio',
      env: { BENCH_METHOD: 'POST', BENCH_BODY: REINICIO, BENCH_EXPECT: '200' },
      resets: true,
    },
    { name: '`GET /healthz`', path: '/healthz', env: { BENCH_METHOD: 'GET', BENCH_EXPECT: '200' } },
  ];
  const results = [];
  for (const s of scenarios) {
    const mailBefore = countFiles(server.mailDir);
    const r = await wrk({ url: `${server.url}${s.path}`, script: 'peticion.lua', env: s.env });
    ensureAlive(server);
    if (s.resets) {
      await waitForOutbox(server);
      r.mails = countFiles(server.mailDir) - mailBefore;
    }
    results.push({ ...s, r });
    log(`   ${s.path}: ${r.rps.toFixed(0)} req/s, p99 ${ms(r.p99)}`);
    await sleep(1000);
  }
  const hit = results[0].r;
  const health = results[3].r;
  const mails = results[2].r.mails;
  return [
    table(
      ['Petición', 'Peticiones/s', 'p50', 'p99', 'Errores'],
      results.map(({ name, r }) => [
        name,
        r.rps.toFixed(0),
        ms(r.p50),
        ms(r.p99),
        detalleErrores(r),
      ]),
    ),
    '',
    `Buscar ID (encontrado) rinde ${(hit.rps / health.rps).toFixed(2)}× lo de \`/healthz\` ` +
      `(${hit.rps.toFixed(0)} / ${health.rps.toFixed(0)} peticiones/s). Durante la prueba de ` +
      `reinicios se enviaron ${mails} correos: mientras una cuenta tiene un correo en cola, los ` +
      'pedidos repetidos se suman a ese.',
  ].join('\n');
}

async function floodSection(server) {
  log('5. buscar ID durante una ráfaga de reinicios e ingresos');
  const url = `${server.url}/api/buscar_id`;
  const hitEnv = { BENCH_METHOD: 'POST', BENCH_BODY: BUSCAR_HIT, BENCH_EXPECT: '200' };
  const idle = await wrk({ url, script: 'peticion.lua', env: hitEnv, threads: 1, connections: 8 });
  await sleep(1000);

  const mailBefore = countFiles(server.mailDir);
  const ramp = 2;
  // The flood starts first and ends after the measurement, so it covers all of it.
  const flood = wrk({
    url: server.url,
    script: 'rafaga.lua',
    threads: 1,
    connections: 20,
    duration: seconds + ramp + 1,
  });
  flood.catch(() => {}); // awaited below; avoids an unhandled rejection meanwhile
  await sleep(ramp * 1000);
  const loaded = await wrk({
    url,
    script: 'peticion.lua',
    env: hitEnv,
    threads: 1,
    connections: 8,
  });
  const f = await flood;
  ensureAlive(server);
  await waitForOutbox(server);
  const mails = countFiles(server.mailDir) - mailBefore;
  const ratio = loaded.p99 / idle.p99;
  const seen = Object.entries(f.seen)
    .map(([code, n]) => `${n}×${code}`)
    .join(', ');
  return [
    '### 5. Buscar ID durante una ráfaga de reinicios',
    '',
    `Buscar ID (encontrado) con wrk -t1 -c8 durante ${seconds} s, primero solo y después ` +
      'mientras ' +
      'otras 20 conexiones alternan `POST /api/solicitar_reinicio` e ingresos correctos ' +
      '(`POST /ingreso`) con las 10 cuentas de demostración: cada ingreso verifica Argon2 (en su ' +
      'propio grupo de hilos); cada correo enviado calcula un SHA-256 de la clave temporal.',
    '',
    table(
      ['Carga', 'Peticiones/s', 'p50', 'p99', 'Errores'],
      [
        [
          'Buscar ID, sin otra carga',
          idle.rps.toFixed(0),
          ms(idle.p50),
          ms(idle.p99),
          detalleErrores(idle),
        ],
        [
          'Buscar ID, durante la ráfaga',
          loaded.rps.toFixed(0),
          ms(loaded.p50),
          ms(loaded.p99),
          detalleErrores(loaded),
        ],
        [
          `Ráfaga (respuestas: ${seen || '—'})`,
          f.rps.toFixed(0),
          ms(f.p50),
          ms(f.p99),
          detalleErrores(f),
        ],
      ],
    ),
    '',
    table(
      ['p99 durante la ráfaga / p99 sin carga', 'Objetivo', 'Cumple'],
      [[`${ratio.toFixed(2)}×`, '≤ 3×', ratio <= 3 ? 'sí' : '**no**']],
    ),
    '',
    `Correos de reinicio enviados durante la ráfaga: ${mails}.`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: a database of its own, dropped afterwards.

function createPgDatabase(adminUrl) {
  if (!output('psql', ['--version'])) return { skipped: 'psql no está instalado' };
  const name = `reinicio_bench_${randomBytes(4).toString('hex')}`;
  const r = spawnSync(
    'psql',
    [adminUrl, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `CREATE DATABASE "${name}"`],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  if (r.status !== 0) return { skipped: `no se pudo crear la base: ${(r.stderr || '').trim()}` };
  databases.add({ admin: adminUrl, name });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

function dropPgDatabase(adminUrl, name) {
  spawnSync('psql', [adminUrl, '-q', '-c', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`], {
    stdio: 'ignore',
    timeout: 30_000,
  });
  for (const d of databases) if (d.name === name) databases.delete(d);
}

// ---------------------------------------------------------------------------------------------
// BENCHMARKS.md

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

function writeBenchmarks(report) {
  const file = join(repo, 'BENCHMARKS.md');
  const block = `${START}\n${report}\n${END}`;
  let text;
  if (!existsSync(file)) {
    text =
      '# Mediciones de rendimiento\n\n' +
      'La sección entre los marcadores la reescribe `make bench` en cada corrida; lo que se ' +
      'escriba fuera de ellos (notas de antes y después) se conserva.\n\n' +
      `${block}\n`;
  } else {
    const old = readFileSync(file, 'utf8');
    const start = old.indexOf(START);
    const end = old.indexOf(END, start);
    text =
      start >= 0 && end > start
        ? old.slice(0, start) + block + old.slice(end + END.length)
        : `${old.replace(/\s*$/, '')}\n\n${block}\n`;
  }
  writeFileSync(file, text);
  log(`escrito ${file}`);
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  // BENCH_ONLY=paquete,campos,arranque,servidor,rafaga runs only those sections (for working on
  // the bench itself); the memory table is always there.
  const only = (process.env.BENCH_ONLY || '').split(',').filter(Boolean);
  const want = (name) => only.length === 0 || only.includes(name);
  if (
    (want('paquete') || want('campos') || want('arranque')) &&
    !existsSync(join(siteRoot, 'pkg'))
  ) {
    throw new Error(`no existe ${join(siteRoot, 'pkg')}: ¿corrió cargo leptos build --release?`);
  }
  const info = machine();
  const sections = [];
  const memRows = [];
  let chromiumVersion = '—';

  const server = await startServer('sqlite');
  await sleep(1000);
  memRows.push(['SQLite: en reposo tras arrancar', mib(memoryOf(server.pid).rss), '—']);

  if (want('paquete')) sections.push(await bundleSection(server));
  ensureAlive(server);

  if (want('campos') || want('arranque')) {
    const browser = await chromium.launch({
      ...chromiumLaunch,
      // Our own handlers clean up; Playwright still closes its browsers when the process exits.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    try {
      chromiumVersion = browser.version();
      if (want('campos')) sections.push(await fieldSection(browser, server));
      if (want('arranque')) sections.push(await startupSection(browser, server));
    } finally {
      await browser.close();
    }
    ensureAlive(server);
    memRows.push([
      'SQLite: después de las pruebas del navegador',
      mib(memoryOf(server.pid).rss),
      '—',
    ]);
  }

  if (want('servidor')) {
    const sqlite = await throughputSection(server);
    const parts = [
      '### 4. Servidor',
      '',
      `Una instancia del servidor de release, límites elevados a ${SIN_LIMITE}, correo a una ` +
        `carpeta (\`file://\`, el envío es real), registro en \`warn\`. wrk -t2 -c32 durante ` +
        `${seconds} s por fila, una tras otra. Errores = errores de socket + respuestas con un ` +
        'estado distinto del esperado.',
      '',
      '**SQLite** (archivo en un directorio temporal):',
      '',
      sqlite,
      '',
    ];
    // The flood runs on the SQLite server before PostgreSQL's turn, so that one server's memory
    // covers every load run.
    const flood = want('rafaga') ? await floodSection(server) : null;
    const memEnd = memoryOf(server.pid);
    memRows.push(['SQLite: al terminar las pruebas de carga', mib(memEnd.rss), mib(memEnd.hwm)]);
    await server.stop();
    parts.push(...(await postgresPart(memRows)));
    sections.push(parts.join('\n'));
    if (flood) sections.push(flood);
  } else {
    if (want('rafaga')) sections.push(await floodSection(server));
    const memEnd = memoryOf(server.pid);
    memRows.push(['SQLite: al final', mib(memEnd.rss), mib(memEnd.hwm)]);
    await server.stop();
  }

  sections.push(
    [
      '### 6. Memoria del servidor',
      '',
      'VmRSS de `/proc/PID/status` (y VmHWM, el máximo que alcanzó el proceso).',
      '',
      table(['Momento', 'RSS', 'Máximo (VmHWM)'], memRows),
    ].join('\n'),
  );

  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  const header = [
    '## Resultados de `make bench`',
    '',
    table(
      ['', ''],
      [
        [
          'Fecha',
          new Date()
            .toISOString()
            .replace('T', ' ')
            .replace(/\.\d+Z$/, ' UTC'),
        ],
        ['Máquina', `${info.model}, ${info.cores} núcleos, ${mib(info.memKb)} de RAM`],
        ['Sistema', `${info.debian}, kernel ${info.kernel}`],
        ['rustc', `\`${info.rustc}\``],
        ['Chromium', chromiumVersion],
        ['wrk', info.wrk],
        ['Commit', `\`${info.commit}\``],
        ['Carga del sistema al empezar (1 / 5 / 15 min)', info.load],
        ['Duración de la corrida', `${minutes} min`],
      ],
    ),
    ...(only.length ? ['', `Solo las secciones: ${only.join(', ')} (\`BENCH_ONLY\`).`] : []),
  ].join('\n');
  const report = [header, ...sections].join('\n\n') + '\n';
  process.stdout.write(report);
  if (process.env.BENCH_NO_WRITE !== '1') writeBenchmarks(report);
}

/** Section 4 again on PostgreSQL, when a server URL is given. */
async function postgresPart(memRows) {
  if (!pgUrl) {
    return [
      'PostgreSQL: no se midió (defina `BENCH_POSTGRES_URL` o `TEST_POSTGRES_URL`, p. ej. ' +
        '`postgres://postgres@127.0.0.1:5432/test`).',
    ];
  }
  const db = createPgDatabase(pgUrl);
  if (db.skipped) return [`PostgreSQL: no se midió (${db.skipped}).`];
  try {
    const pg = await startServer('postgres', db.url);
    try {
      await sleep(1000);
      const idle = memoryOf(pg.pid);
      const text = await throughputSection(pg);
      const end = memoryOf(pg.pid);
      memRows.push(
        ['PostgreSQL: en reposo tras arrancar', mib(idle.rss), '—'],
        ['PostgreSQL: al terminar las pruebas de carga', mib(end.rss), mib(end.hwm)],
      );
      return [`**PostgreSQL** (${new URL(pgUrl).host}, base nueva \`${db.name}\`):`, '', text];
    } finally {
      await pg.stop();
    }
  } finally {
    dropPgDatabase(pgUrl, db.name);
  }
}

try {
  await main();
} catch (error) {
  console.error(error?.stack ?? error);
  process.exitCode = 1;
} finally {
  cleanupSync();
}
