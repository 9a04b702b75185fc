// Settings, clean-up of everything the bench starts, and small helpers shared by the sections. (Part of `make bench`: see bench.mjs.)
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


export const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '..', '..');
export const targetDir = process.env.CARGO_TARGET_DIR || join(repo, 'target');
export const serverBin = process.env.BENCH_SERVER_BIN || join(targetDir, 'release', 'server');
export const siteRoot = process.env.BENCH_SITE_ROOT || join(repo, 'target', 'site');
export const pgUrl = process.env.BENCH_POSTGRES_URL || process.env.TEST_POSTGRES_URL || '';
export const seconds = Number(process.env.BENCH_SECONDS || 10);
// Debian's Chromium and its flags, as the browser tests launch it.
export const chromiumLaunch = JSON.parse(readFileSync(join(here, '..', 'support', 'chromium.json'), 'utf8'));
// High enough that no rate limit answers 429 in the middle of a measurement.
export const SIN_LIMITE = '1000000000';

export const log = (...args) => console.error('[bench]', ...args);

// ---------------------------------------------------------------------------------------------
// Clean-up. Everything started is registered here; `exit` runs the synchronous part even when an
// exception or a signal ends the process, so nothing outlives the bench.

export const children = new Set(); // ChildProcess (Playwright kills its own browsers on exit)
export const tempDirs = new Set();
export const databases = new Set(); // PostgreSQL databases to drop: { admin, name }

export function cleanupSync() {
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

export function tempDir(prefix) {
  const dir = mkdtempSync(join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

export async function stopChild(child, graceMs = 5000) {
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
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export const ms = (v) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : '—');
export const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
// Digits grouped with a narrow no-break space, which reads the same in Spanish and English.
export const bytesFmt = (n) => `${String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f')} B`;
export const mib = (kb) => `${(kb / 1024).toFixed(1)} MiB`;

export function table(headers, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A plain HTTP GET that returns the bytes as sent (no decompression) and the headers. */
export function rawGet(url, headers = {}) {
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

export function output(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** VmRSS and VmHWM (peak) of a process, in kB. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'))?.[1]);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

export function countFiles(dir) {
  try {
    return readdirSync(dir).length;
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Registrations for the load sections: many identities, loaded with `server import` as an
// operator would, and request bodies that pick among them at random (peticion.lua).

/** How many registrations the server sections import (BENCH_REGISTRATIONS, default 100,000). */
export const registrationCount = Number(process.env.BENCH_REGISTRATIONS || 100_000);

/**
 * A valid cédula for `n` (0 ≤ n < 24 × 10⁷): province 01–24 from n mod 24, then seven digits
 * from n / 24 (the third digit stays 0–6), then the check digit of docs/dominio.md. Distinct n,
 * distinct cédulas.
 */
export function cedula(n) {
  const province = String((n % 24) + 1).padStart(2, '0');
  const nine = province + String(Math.floor(n / 24)).padStart(7, '0');
  let sum = 0;
  for (let i = 0; i < 9; i++) {
    let p = Number(nine[i]) * (i % 2 === 0 ? 2 : 1);
    if (p > 9) p -= 9;
    sum += p;
  }
  return nine + String((10 - (sum % 10)) % 10);
}

/**
 * Writes `registros.csv` (n approved "usuario general" registrations) and three body files into
 * `dir`: lookups that match (`buscar-hit.txt`), lookups of valid cédulas nobody registered
 * (`buscar-miss.txt`), and reset requests that match (`reinicio.txt`).
 */
export function writeRegistrations(dir, n) {
  const csv = ['usuario,clasificacion,identificacion,ruc_empresa,correo,estado'];
  const hit = [];
  const miss = [];
  const reset = [];
  for (let i = 0; i < n; i++) {
    const identificacion = cedula(i);
    const correo = `persona${i}@example.com`;
    const usuario = `bench${i}`;
    csv.push(`${usuario},usuario_general,${identificacion},,${correo},aprobada`);
    hit.push(JSON.stringify({ clasificacion: 'usuario_general', correo, identificacion }));
    miss.push(
      JSON.stringify({
        clasificacion: 'usuario_general',
        correo,
        identificacion: cedula(n + 1000 + i),
      }),
    );
    reset.push(JSON.stringify({ usuario, identificacion, correo }));
  }
  const files = {
    csv: join(dir, 'registros.csv'),
    hit: join(dir, 'buscar-hit.txt'),
    miss: join(dir, 'buscar-miss.txt'),
    reset: join(dir, 'reinicio.txt'),
  };
  writeFileSync(files.csv, csv.join('\n') + '\n');
  writeFileSync(files.hit, hit.join('\n') + '\n');
  writeFileSync(files.miss, miss.join('\n') + '\n');
  writeFileSync(files.reset, reset.join('\n') + '\n');
  return files;
}
