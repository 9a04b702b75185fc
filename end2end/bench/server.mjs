// The server under test (started, checked, its outbox awaited), wrk, and the PostgreSQL database of its own. (Part of `make bench`: see bench.mjs.)
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

import { SIN_LIMITE, countFiles, registrationCount, writeRegistrations, databases, here, log, ms, output, rawGet, seconds, serverBin, siteRoot, stopChild, tempDir, track } from './setup.mjs';

// ---------------------------------------------------------------------------------------------
// The server under test.

/** The binary may be in the middle of a rebuild: wait for it instead of failing at once. */
export async function waitForBinary(timeoutMs = 300_000) {
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
 * Seeds the demo registrations, imports `registrationCount` more with `server import` (their
 * request bodies are in `server.bodies`), and starts `server serve` on a free port. `databaseUrl`
 * is a sqlite:// or postgres:// URL; e-mail goes to a folder, so every reset really is sent.
 */
export async function startServer(label, databaseUrl) {
  const dir = tempDir(`reinicio-bench-${label}-`);
  const mailDir = join(dir, 'correo');
  const env = {
    ...process.env,
    REINICIO_LISTEN_ADDR: '127.0.0.1:0',
    REINICIO_METRICS_ADDR: '127.0.0.1:0',
    REINICIO_PUBLIC_BASE_URL: 'http://localhost',
    REINICIO_DATABASE_URL: databaseUrl ?? `sqlite://${join(dir, 'bench.sqlite3')}?mode=rwc`,
    REINICIO_MAIL_URL: `file://${mailDir}`,
    REINICIO_LOG_LEVEL: 'warn',
    REINICIO_LOG_FORMAT: 'text',
    REINICIO_LOOKUP_LIMIT_PER_HOUR: SIN_LIMITE,
    REINICIO_RESET_LIMIT_PER_HOUR: SIN_LIMITE,
    REINICIO_ADDRESS_LIMIT_PER_MINUTE: SIN_LIMITE,
    REINICIO_ADDRESS_LIMIT_BURST: SIN_LIMITE,
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
  const bodies = writeRegistrations(dir, registrationCount);
  const started = Date.now();
  const load = spawnSync(serverBin, ['import', bodies.csv], {
    env,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (load.status !== 0) {
    throw new Error(`server import falló (${label}): ${load.error ?? ''}\n${load.stderr ?? ''}`);
  }
  log(`${registrationCount} registros importados en ${((Date.now() - started) / 1000).toFixed(1)} s`);

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
    bodies,
    log: () => logText,
    stop: () => stopChild(child),
  };
}

/** Numbers from a server that died half-way would be meaningless: stop with its log instead. */
export function ensureAlive(server) {
  const { exitCode, signalCode } = server.child;
  if (exitCode !== null || signalCode !== null) {
    throw new Error(
      `el servidor ${server.label} terminó (${exitCode ?? signalCode}):\n${server.log()}`,
    );
  }
}

/** After a run that queued resets: let the outbox worker finish, so runs don't overlap. */
export async function waitForOutbox(server, maxMs = 120_000) {
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
export function toMs(text) {
  const m = text.match(/^([\d.]+)(us|ms|s|m|h)$/);
  if (!m) return NaN;
  const factor = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2]];
  return Number(m[1]) * factor;
}

export function parseWrk(text) {
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
export async function wrk({ url, script, env = {}, threads = 2, connections = 32, duration = seconds }) {
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

export const errores = (r) => r.socketErrors + (Number.isFinite(r.unexpected) ? r.unexpected : 0);
export const detalleErrores = (r) => {
  const parts = Object.entries(r.statuses).map(([code, n]) => `${n}×${code}`);
  if (r.socketErrors) parts.push(r.socketDetail.toLowerCase());
  return parts.length ? `${errores(r)} (${parts.join(', ')})` : '0';
};

// ---------------------------------------------------------------------------------------------
// PostgreSQL: a database of its own, dropped afterwards.

export function createPgDatabase(adminUrl) {
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

export function dropPgDatabase(adminUrl, name) {
  spawnSync('psql', [adminUrl, '-q', '-c', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`], {
    stdio: 'ignore',
    timeout: 30_000,
  });
  for (const d of databases) if (d.name === name) databases.delete(d);
}
