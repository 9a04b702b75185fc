#!/usr/bin/env bash
# Installs what is missing, builds the release and serves the app on the embedded defaults:
# SQLite in data/reinicio-clave.sqlite3 and e-mail written to data/outbox/ (no SMTP needed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh
export PATH="$HOME/.cargo/bin:$PATH"
mkdir -p data
cargo leptos build --release --precompress
# The demonstration registrations (README.md), so the page can be tried at once. Idempotent.
"${CARGO_TARGET_DIR:-target}/release/server" seed-demo
# Nothing left to build: cargo-leptos runs the server, which prints its URL.
exec cargo leptos serve --release --precompress
