import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { abrirInteractiva, claveTemporal, contarLlamadas, correosRecibidos, esperarCorreo } from './ayuda';

const CLAVE_DEMO = 'clave de demostración';

async function ingresar(page: Page, usuario: string, clave: string) {
  await page.goto('/ingreso');
  await page.fill('#i-usuario', usuario);
  await page.fill('#i-clave', clave);
  await page.getByRole('button', { name: 'Ingresar' }).click();
}

test('reset, e-mail, sign in with the temporary password, forced change, notice, and the old passwords stop working', async ({ page }) => {
  // Luis Mora (Auxiliar) asks for a temporary password.
  await abrirInteractiva(page);
  await page.fill('#r-usuario', 'lmora.aux');
  await page.fill('#r-identificacion', '0601234560');
  await page.fill('#r-correo', 'luis.mora@example.com');
  const antes = correosRecibidos();
  await page.getByRole('button', { name: 'Recibir la clave por e-mail' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Sí' }).click();
  await expect(page.getByTestId('enviado')).toBeVisible();

  const correo = await esperarCorreo('luis.mora@example.com', antes);
  const temporal = claveTemporal(correo);
  // The link comes from the configured public address, not from the request.
  expect(correo.text).toContain(`${process.env.E2E_PUBLIC_URL}/ingreso`);
  expect(process.env.E2E_PUBLIC_URL).toContain('localhost');

  await ingresar(page, 'lmora.aux', temporal);
  await expect(page).toHaveURL(/\/cambio-clave$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Cambio de clave obligatorio');
  // Nothing else is reachable until the change is done.
  await page.goto('/cuenta');
  await expect(page).toHaveURL(/\/cambio-clave$/);
  await expect(page.locator('form[data-interactiva]')).toHaveAttribute('data-interactiva', 'si');

  // A weak password is refused as it is typed, with the reason, without asking the server.
  const llamadas = contarLlamadas(page);
  await page.locator('#c-clave').pressSequentially('corta');
  await expect(page.locator('#c-clave-error')).toContainText('entre 12 y 128 caracteres');
  await page.locator('#c-clave').fill('lmora.aux');
  await expect(page.locator('#c-clave-error')).toContainText('entre 12 y 128'); // 9 characters
  await page.locator('#c-clave').fill('una frase nueva y segura');
  await expect(page.locator('#c-clave-error')).toHaveCount(0);
  // The identification inside a longer password is refused.
  await page.locator('#c-clave').fill('clave 0601234560 00');
  await expect(page.locator('#c-clave-error')).toContainText('identificación');
  // Pasting is allowed (a password manager's long password is welcome).
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.evaluate(() => navigator.clipboard.writeText('Cañón verde sobre el río Guayas'));
  await page.locator('#c-clave').fill('');
  await page.locator('#c-clave').focus();
  await page.keyboard.press('ControlOrMeta+V');
  await expect(page.locator('#c-clave')).toHaveValue('Cañón verde sobre el río Guayas');
  await expect(page.locator('#c-clave-error')).toHaveCount(0);
  expect(llamadas).toEqual([]);
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);

  // Runs, keyboard walks and the service's words are refused as they are typed, with the reason.
  for (const [clave, razon] of [
    ['123456789012', 'secuencia'],
    ['qwertyuiop12', 'secuencia'],
    // Upper case and Spanish letters fold as on the server (validation/src/case.rs).
    ['ASDFGHJKLÑ12', 'secuencia'],
    ['abcabcabcabc', 'repetir'],
    ['ecuapass2026!', 'nombre del servicio'],
    ['luis.mora 1980', 'correo electrónico'],
  ]) {
    await page.locator('#c-clave').fill(clave);
    await expect(page.locator('#c-clave-error')).toContainText(razon);
  }
  expect(llamadas).toEqual([]);
  // A common password passes the browser's checks; the server refuses it with the reason.
  await page.fill('#c-clave', 'password1234');
  await page.fill('#c-confirmacion', 'password1234');
  await page.getByRole('button', { name: 'Guardar la clave nueva' }).click();
  await expect(page.locator('#c-clave-error')).toContainText('demasiado común');
  await expect(page.locator('.resumen-errores')).toBeVisible();
  // Only the server's estimate (zxcvbn) knows this one is guessable; its verdict shows at the field.
  await page.fill('#c-clave', 'Password2024!');
  await page.fill('#c-confirmacion', 'Password2024!');
  await page.getByRole('button', { name: 'Guardar la clave nueva' }).click();
  await expect(page.locator('#c-clave-error')).toContainText('fácil de adivinar');

  const antesAviso = correosRecibidos();
  await page.fill('#c-clave', 'una frase nueva y segura');
  await page.fill('#c-confirmacion', 'una frase nueva y segura');
  await page.getByRole('button', { name: 'Guardar la clave nueva' }).click();
  await expect(page).toHaveURL(/\/clave-actualizada$/);
  await expect(page.getByTestId('clave-actualizada')).toContainText('Su clave fue cambiada');

  const aviso = await esperarCorreo('luis.mora@example.com', antesAviso);
  expect(aviso.subject).toBe('ECUAPASS: su clave fue cambiada');
  expect(aviso.text).toContain('lmora.aux');
  expect(aviso.text).not.toContain(temporal);
  expect(aviso.text).not.toContain('una frase nueva y segura');

  await page.getByRole('button', { name: 'Cerrar sesión' }).click();
  await expect(page).toHaveURL(/\/ingreso$/);

  // The old password and the temporary one no longer work; the new one does.
  for (const vieja of [CLAVE_DEMO, temporal]) {
    await ingresar(page, 'lmora.aux', vieja);
    await expect(page.getByRole('alert')).toContainText('El ID usuario o la clave no son correctos.');
  }
  await ingresar(page, 'lmora.aux', 'una frase nueva y segura');
  await expect(page).toHaveURL(/\/cuenta$/);
  await expect(page.getByTestId('sesion-iniciada')).toBeVisible();
  // The voluntary change asks for the current password, and the page stays accessible.
  await expect(page.locator('#v-clave-actual')).toHaveAttribute('autocomplete', 'current-password');
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);
  await page.fill('#v-clave-actual', 'no es la actual');
  await page.fill('#v-clave', 'otra frase nueva y segura');
  await page.fill('#v-confirmacion', 'otra frase nueva y segura');
  await page.getByRole('button', { name: 'Cambiar la clave' }).click();
  await expect(page.getByRole('alert')).toContainText('La clave actual no es correcta');
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);

  // Neither secret is anywhere but in the e-mail: not in a log line, not in the database files.
  const dir = process.env.E2E_DATA_DIR!;
  const archivos = readdirSync(dir).filter((n) => n !== 'smtp');
  expect(archivos).toContain('servidor.log');
  expect(archivos.some((n) => n.startsWith('e2e.sqlite3'))).toBe(true);
  // Not vacuous: the log has the journey's audit lines, the database its rows in plain text.
  expect(readFileSync(join(dir, 'servidor.log'), 'utf8')).toContain('cambio_clave');
  expect(archivos.some((n) => readFileSync(join(dir, n)).includes(Buffer.from('lmora.aux')))).toBe(true);
  for (const nombre of archivos) {
    const contenido = readFileSync(join(dir, nombre));
    for (const secreto of [temporal, 'una frase nueva y segura', CLAVE_DEMO]) {
      expect(contenido.includes(Buffer.from(secreto)), `${secreto} en ${nombre}`).toBe(false);
    }
  }
});

test('the sign-in page without JavaScript, errors in place', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/ingreso');
  await page.getByRole('button', { name: 'Ingresar' }).click();
  await expect(page.locator('#i-usuario-error')).toContainText('obligatorio');
  await expect(page.locator('.resumen-errores')).toBeVisible();
  await ingresar(page, 'race.ec', CLAVE_DEMO);
  await expect(page).toHaveURL(/\/cuenta$/);
  await context.close();
});

test('the sign-in page passes axe, empty and with errors', async ({ page }) => {
  await page.goto('/ingreso');
  // The portal's way in to a reset: "Reiniciar clave".
  await expect(page.getByRole('link', { name: 'Reiniciar clave' })).toHaveAttribute('href', '/');
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);
  await page.getByRole('button', { name: 'Ingresar' }).click();
  await expect(page.locator('.resumen-errores')).toBeVisible();
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);
});
