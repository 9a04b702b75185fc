// Sections 4 to 6: server throughput, lookups during a flood of resets and sign-ins, memory. (Part of `make bench`: see bench.mjs.)
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

import { detalleErrores, ensureAlive, waitForOutbox, wrk } from './server.mjs';
import { countFiles, registrationCount, log, ms, seconds, table } from './setup.mjs';

// ---------------------------------------------------------------------------------------------
// 4. Server throughput, 5. lookups during a flood, 6. memory.

export async function throughputSection(server) {
  log(`4. servidor (${server.label})`);
  // Random bodies over the imported registrations (peticion.lua), as users would send them.
  const random = (file, expect) => ({
    BENCH_METHOD: 'POST',
    BENCH_BODIES_FILE: file,
    BENCH_EXPECT: expect,
  });
  const scenarios = [
    {
      name: '`POST /api/buscar_id` (encontrado)',
      path: '/api/buscar_id',
      script: 'peticion.lua',
      env: random(server.bodies.hit, '200'),
    },
    {
      name: '`POST /api/buscar_id` (no encontrado, 404 esperado)',
      path: '/api/buscar_id',
      script: 'peticion.lua',
      env: random(server.bodies.miss, '404'),
    },
    {
      name: '`POST /api/solicitar_reinicio`',
      path: '/api/solicitar_reinicio',
      script: 'peticion.lua',
      env: random(server.bodies.reset, '200'),
      resets: true,
    },
    {
      name: '`GET /healthz`',
      path: '/healthz',
      script: 'peticion.lua',
      env: { BENCH_METHOD: 'GET', BENCH_EXPECT: '200' },
    },
  ];
  const results = [];
  for (const s of scenarios) {
    const mailBefore = countFiles(server.mailDir);
    const r = await wrk({ url: `${server.url}${s.path}`, script: s.script, env: s.env });
    ensureAlive(server);
    if (s.resets) {
      // Sent while the load ran, then how long the rest took: a reset is done when its e-mail
      // is out, not when its request is answered.
      r.mailsDuring = countFiles(server.mailDir) - mailBefore;
      const drainStart = Date.now();
      await waitForOutbox(server);
      r.mails = countFiles(server.mailDir) - mailBefore;
      // waitForOutbox ends 1.5 s after the last new file.
      r.drainSeconds = Math.max(0, (Date.now() - drainStart - 1500) / 1000);
    }
    results.push({ ...s, r });
    log(`   ${s.path}: ${r.rps.toFixed(0)} req/s, p99 ${ms(r.p99)}`);
    await sleep(1000);
  }
  const [hit, miss, reset, health] = results.map((x) => x.r);
  const mails = reset.mails;
  const ratio = (r) => r.rps / health.rps;
  const check = (ok) => (ok ? 'sí' : '**no**');
  return [
    table(
      ['Petición', 'Peticiones/s', '× `/healthz`', 'p50', 'p99', 'Errores'],
      results.map(({ name, r }) => [
        name,
        r.rps.toFixed(0),
        `${ratio(r).toFixed(2)}×`,
        ms(r.p50),
        ms(r.p99),
        detalleErrores(r),
      ]),
    ),
    '',
    table(
      ['Objetivo', 'Medido', 'Cumple'],
      [
        ['Buscar ID (encontrado) ≥ 0.5× `/healthz`', `${ratio(hit).toFixed(2)}×`, check(ratio(hit) >= 0.5)],
        ['Buscar ID (encontrado) p99 ≤ 25 ms', ms(hit.p99), check(hit.p99 <= 25)],
        ['Buscar ID (no encontrado) ≥ 0.5× `/healthz`', `${ratio(miss).toFixed(2)}×`, check(ratio(miss) >= 0.5)],
        ['Reinicio ≥ 0.4× `/healthz`', `${ratio(reset).toFixed(2)}×`, check(ratio(reset) >= 0.4)],
      ],
    ),
    '',
    `Cada petición lleva una identidad al azar entre ${registrationCount.toLocaleString('es')} ` +
      'registros importados con `server import` (los no encontrados: cédulas válidas que nadie ' +
      `registró). Reinicios: ${reset.mailsDuring} correos enviados durante los ${seconds} s de ` +
      `carga (${(reset.mailsDuring / seconds).toFixed(0)}/s, a una carpeta: \`file://\`); los ` +
      `${mails - reset.mailsDuring} restantes salieron en ${reset.drainSeconds.toFixed(1)} s más ` +
      `(${mails} en total, uno por cuenta mientras su correo espera en cola).`,
  ].join('\n');
}

export async function floodSection(server) {
  log('5. buscar ID durante una ráfaga de reinicios e ingresos');
  const url = `${server.url}/api/buscar_id`;
  const hitEnv = { BENCH_METHOD: 'POST', BENCH_BODIES_FILE: server.bodies.hit, BENCH_EXPECT: '200' };
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
