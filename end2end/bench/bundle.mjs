// Section 1: the bundle's sizes, and what the server sends for each Accept-Encoding. (Part of `make bench`: see bench.mjs.)
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

import { bytesFmt, kib, log, rawGet, siteRoot, table } from './setup.mjs';

// ---------------------------------------------------------------------------------------------
// 1. Bundle.

/**
 * The bundle's files, found by extension (names may carry a content hash). If a stale file sits
 * beside the current one, the one the page refers to wins, else the newest.
 */
export function bundleFiles(html) {
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

export const sizes = (buf) => ({
  raw: buf.length,
  gzip: zlib.gzipSync(buf, { level: 9 }).length,
  br: zlib.brotliCompressSync(buf, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
    },
  }).length,
});

export async function bundleSection(server) {
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
