import { expect, test } from '@playwright/test';

const TITULO = 'Solicitud de reinicio de clave automática';

test('the server renders the page before any script runs', async ({ request }) => {
  const response = await request.get('/');
  expect(response.status()).toBe(200);
  const html = await response.text();
  expect(html).toContain('<html lang="es"');
  // (`<!>` is a hydration marker the server may leave after text.)
  expect(html).toMatch(new RegExp(`<h1>${TITULO}(<!>)?</h1>`));
  // Rendered on the server, the page is not yet interactive.
  expect(html).toContain('data-interactiva="no"');
});

test('the page hydrates in the browser', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

  await page.goto('/');
  await expect(page).toHaveTitle(TITULO);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(TITULO);
  // Only the WASM can flip this attribute: it proves hydration ran.
  await expect(page.locator('main')).toHaveAttribute('data-interactiva', 'si');
  expect(errors).toEqual([]);
});

test('without JavaScript the page still shows, un-hydrated', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(TITULO);
  await expect(page.locator('main')).toHaveAttribute('data-interactiva', 'no');
  await context.close();
});

test('/healthz answers 200 when the database is reachable', async ({ request }) => {
  const response = await request.get('/healthz');
  expect(response.status()).toBe(200);
  expect(await response.text()).toBe('ok');
});

test('an unknown path answers 404 in Spanish', async ({ request }) => {
  const response = await request.get('/no-existe');
  expect(response.status()).toBe(404);
  expect(await response.text()).toContain('Página no encontrada');
});
