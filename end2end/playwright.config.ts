// Browser tests against the release build of the real server.
//
// The server is started once per run on a free port with a fresh SQLite database in a temporary
// directory, seeded through the server's own operator CLI (`server seed-demo`), and relaying its
// mail to a real SMTP server on loopback (support/servidor.mjs). Tests read the delivered
// messages from $E2E_DATA_DIR/smtp. Chromium is Debian's (`/usr/bin/chromium`): Playwright's own
// browser download cannot run here.
import { defineConfig, devices } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const workspace = resolve(__dirname, '..');
// Debian's Chromium and its flags, shared with the benchmark (bench/bench.mjs).
const chromiumLaunch = JSON.parse(readFileSync(join(__dirname, 'support', 'chromium.json'), 'utf8'));
const targetDir = process.env.CARGO_TARGET_DIR ?? join(workspace, 'target');

// The config is evaluated again in every worker; the environment carries the first choice over.
function freePort(): string {
  const script =
    "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})";
  return execFileSync(process.execPath, ['-e', script]).toString().trim();
}
process.env.E2E_PORT ??= freePort();
process.env.E2E_DATA_DIR ??= mkdtempSync(join(tmpdir(), 'reinicio-e2e-'));

process.env.E2E_SERVER_BIN ??= join(targetDir, 'release', 'server');
process.env.E2E_SITE_ROOT ??= join(workspace, 'target', 'site');
// Deliberately not the address the browser uses: e-mail links must come from configuration.
process.env.E2E_PUBLIC_URL ??= `http://localhost:${process.env.E2E_PORT}`;
const baseURL = `http://127.0.0.1:${process.env.E2E_PORT}`;

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 2,
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    baseURL,
    locale: 'es-EC',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      testIgnore: /carga\.spec\.ts/,
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: chromiumLaunch,
      },
    },
    // The load test, alone, once the browser tests are done.
    { name: 'carga', testMatch: /carga\.spec\.ts/, dependencies: ['chromium'] },
  ],
  webServer: {
    command: 'node support/servidor.mjs',
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
