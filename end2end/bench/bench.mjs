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

import { fieldSection, startupSection } from './browser.mjs';
import { bundleSection } from './bundle.mjs';
import { floodSection, throughputSection } from './load.mjs';
import { createPgDatabase, dropPgDatabase, ensureAlive, errores, startServer, wrk } from './server.mjs';
import { SIN_LIMITE, chromiumLaunch, cleanupSync, log, memoryOf, mib, output, pgUrl, repo, seconds, siteRoot, table } from './setup.mjs';

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
