// Shared helpers for the browser tests.
import { expect, type Page } from '@playwright/test';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { simpleParser, type ParsedMail } from 'mailparser';

export const TITULO = 'Solicitud de reinicio de clave automática';
export const PREGUNTA = '¿Desea buscar su contraseña? Le enviaremos una clave temporal a su correo electrónico.';

/**
 * Every classification with the label users see and whether RUC / e-mail are required: the
 * validation crate's table itself, as the server's CLI prints it (`server classifications
 * --json`), so that a new row is checked here without being copied here.
 */
export const CLASIFICACIONES: Array<{ codigo: string; etiqueta: string; ruc: boolean; correo: boolean }> =
  clasificacionesDelServidor();

function clasificacionesDelServidor() {
  const bin = process.env.E2E_SERVER_BIN;
  if (!bin) throw new Error('E2E_SERVER_BIN no está definida (la define playwright.config.ts)');
  const r = spawnSync(bin, ['classifications', '--json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`server classifications falló: ${r.error ?? r.stderr}`);
  const filas = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  if (filas.length === 0) throw new Error('server classifications no listó ninguna clasificación');
  return filas;
}

/** Opens the page and waits until the WASM has hydrated it. */
export async function abrirInteractiva(page: Page) {
  await page.goto('/');
  await expect(page.locator('main')).toHaveAttribute('data-interactiva', 'si');
}

/** Records every request to the API while the page is open. */
export function contarLlamadas(page: Page): string[] {
  const llamadas: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/api/') || r.method() === 'POST') llamadas.push(r.url());
  });
  return llamadas;
}

function buzon(): string {
  return join(process.env.E2E_DATA_DIR!, 'smtp');
}

export function correosRecibidos(): string[] {
  const dir = buzon();
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** Waits for a message to `para` that was not in `antes`, and parses it. */
export async function esperarCorreo(para: string, antes: string[]): Promise<ParsedMail> {
  const limite = Date.now() + 20_000;
  while (Date.now() < limite) {
    for (const nombre of correosRecibidos()) {
      if (antes.includes(nombre)) continue;
      const correo = await simpleParser(readFileSync(join(buzon(), nombre)));
      const destinos = [correo.to].flat().flatMap((t) => (t ? t.value.map((v) => v.address) : []));
      if (destinos.includes(para)) return correo;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no llegó ningún correo para ${para}`);
}

/** The temporary password line of a reset e-mail. */
export function claveTemporal(correo: ParsedMail): string {
  const linea = (correo.text ?? '').split('\n').find((l) => l.startsWith('Su clave temporal es: '));
  if (!linea) throw new Error(`sin clave en el correo: ${correo.text}`);
  return linea.replace('Su clave temporal es: ', '').trim();
}
