// Starts what the browser tests run against, in order: a real SMTP server on loopback (the npm
// `smtp-server` package, keeping every message as a file), then the release server configured to
// relay through it, seeded with the demo registrations through its own operator CLI.
//
// Environment (set by playwright.config.ts): E2E_PORT, E2E_DATA_DIR, E2E_SERVER_BIN, E2E_SITE_ROOT,
// E2E_PUBLIC_URL.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';

const dataDir = process.env.E2E_DATA_DIR;
const mailDir = join(dataDir, 'smtp');
mkdirSync(mailDir, { recursive: true });

let received = 0;
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  logger: false,
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      received += 1;
      const name = `${String(Date.now()).padStart(15, '0')}-${String(received).padStart(4, '0')}.eml`;
      writeFileSync(join(mailDir, name), Buffer.concat(chunks));
      callback();
    });
  },
});

await new Promise((resolve) => smtp.listen(0, '127.0.0.1', resolve));
const smtpPort = smtp.server.address().port;

const env = {
  ...process.env,
  REINICIO_LISTEN_ADDR: `127.0.0.1:${process.env.E2E_PORT}`,
  // Any free loopback port: the default one may be taken by a server someone left running.
  REINICIO_METRICS_ADDR: '127.0.0.1:0',
  REINICIO_PUBLIC_BASE_URL: process.env.E2E_PUBLIC_URL,
  REINICIO_DATABASE_URL: `sqlite://${join(dataDir, 'e2e.sqlite3')}?mode=rwc`,
  REINICIO_MAIL_URL: `smtp://127.0.0.1:${smtpPort}?tls=none`,
  REINICIO_LOG_FORMAT: 'json',
  // The tests repeat lookups for the same demo identities; the limits have tests of their own.
  REINICIO_LOOKUP_LIMIT_PER_HOUR: '1000000',
  REINICIO_RESET_LIMIT_PER_HOUR: '1000',
  REINICIO_ADDRESS_LIMIT_PER_MINUTE: '100000',
  REINICIO_ADDRESS_LIMIT_BURST: '100000',
  REINICIO_SIGN_IN_LIMIT_PER_MINUTE: '100000',
  REINICIO_SIGN_IN_LIMIT_BURST: '100000',
  LEPTOS_SITE_ROOT: process.env.E2E_SITE_ROOT,
  LEPTOS_ENV: 'PROD',
};
const bin = process.env.E2E_SERVER_BIN;

const seed = spawnSync(bin, ['seed-demo'], { env, stdio: 'inherit' });
if (seed.status !== 0) {
  console.error('seed-demo falló');
  process.exit(1);
}

// Everything the server logs also goes to a file, which the tests search for secrets.
const log = createWriteStream(join(dataDir, 'servidor.log'));
const server = spawn(bin, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
server.stdout.on('data', (c) => {
  process.stdout.write(c);
  log.write(c);
});
server.stderr.on('data', (c) => {
  process.stderr.write(c);
  log.write(c);
});
const stop = () => {
  server.kill('SIGTERM');
  smtp.close();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
server.on('exit', (code) => {
  smtp.close();
  process.exit(code ?? 0);
});
