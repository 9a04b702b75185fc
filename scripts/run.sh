#!/usr/bin/env bash
# Installs what is missing, builds the release and serves the app on the embedded defaults:
# SQLite in data/reinicio-clave.sqlite3 and e-mail written to data/outbox/ (no SMTP needed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh
export PATH="$HOME/.cargo/bin:$PATH"
mkdir -p data
cargo leptos build --release --precompress
scripts/recompress.sh
server="${CARGO_TARGET_DIR:-target}/release/server"
# The demonstration registrations (README.md), so the page can be tried at once. Idempotent.
"$server" seed-demo
# The release binary serves the site cargo-leptos built; it prints its URL.
export LEPTOS_SITE_ROOT=target/site LEPTOS_ENV=PROD
exec "$server" serve
