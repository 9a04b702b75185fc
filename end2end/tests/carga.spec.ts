// Load: 2,000 "Buscar ID" requests, 50 at a time, against the release server (its limits are
// raised by configuration in support/servidor.mjs). Every answer must be the expected one; the
// throughput and latency percentiles are printed and written to test-results/carga.json.
//
// It runs in its own Playwright project, after the browser tests, so that neither disturbs the
// other on a two-core machine.
import { expect, test } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const TOTAL = 2_000;
const CONCURRENCIA = 50;

const ACIERTO = {
  clasificacion: 'usuario_general',
  correo: 'maria.perez@example.com',
  identificacion: '1710034065',
};
const FALLO = { clasificacion: 'usuario_general', correo: 'nadie@example.com', identificacion: '0926687856' };

test('2,000 lookups at concurrency 50: no error, and the figures', async ({ baseURL }) => {
  test.setTimeout(120_000);
  const latencias: number[] = [];
  const inesperadas: string[] = [];
  let siguiente = 0;

  async function cliente() {
    while (siguiente < TOTAL) {
      const n = siguiente++;
      const acierto = n % 2 === 0;
      const inicio = performance.now();
      try {
        const r = await fetch(`${baseURL}/api/buscar_id`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(acierto ? ACIERTO : FALLO),
        });
        const cuerpo = await r.text();
        latencias.push(performance.now() - inicio);
        const esperado = acierto ? 200 : 404;
        if (r.status !== esperado) inesperadas.push(`${r.status} ${cuerpo.slice(0, 200)}`);
      } catch (e) {
        inesperadas.push(String(e));
      }
    }
  }

  const inicio = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCIA }, cliente));
  const segundos = (performance.now() - inicio) / 1000;

  latencias.sort((a, b) => a - b);
  const p = (q: number) => latencias[Math.min(latencias.length - 1, Math.floor(q * latencias.length))];
  const cifras = {
    solicitudes: TOTAL,
    concurrencia: CONCURRENCIA,
    errores: inesperadas.length,
    solicitudes_por_segundo: Math.round(TOTAL / segundos),
    p50_ms: +p(0.5).toFixed(2),
    p99_ms: +p(0.99).toFixed(2),
    max_ms: +latencias[latencias.length - 1].toFixed(2),
  };
  console.log(`carga buscar_id: ${JSON.stringify(cifras)}`);
  const dir = join(__dirname, '..', 'test-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'carga.json'), JSON.stringify(cifras, null, 2));

  expect(inesperadas.slice(0, 5)).toEqual([]);
  expect(latencias.length).toBe(TOTAL);
});
