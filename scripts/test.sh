#!/usr/bin/env bash
# Installs what is missing, then runs every check: formatting, clippy, the Rust tests (with the
# PostgreSQL variant when TEST_POSTGRES_URL is set) and the browser tests against a release build.
# Stops at the first failure with a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh --test
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

if [ -z "${TEST_POSTGRES_URL:-}" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "CI=true exige TEST_POSTGRES_URL (p. ej. postgres://postgres@127.0.0.1:5432/test)." >&2
    exit 1
  fi
  echo "Nota: TEST_POSTGRES_URL no está definida; las pruebas de base de datos corren solo en SQLite."
fi

step "cargo fmt --check"
cargo fmt --all --check

# `frontend` is the browser crate: built natively beside the server, cargo would unify features
# and compile the app with both `ssr` and `hydrate`, which is not a program that exists. It is
# checked for its real target instead.
step "cargo clippy (servidor y pruebas)"
cargo clippy --workspace --exclude frontend --all-targets --locked -- -D warnings
step "cargo clippy (navegador, wasm32)"
cargo clippy -p frontend -p validation --target wasm32-unknown-unknown --locked -- -D warnings

step "cargo test"
cargo test --workspace --exclude frontend --locked

step "cargo leptos build --release --precompress"
cargo leptos build --release --precompress
scripts/recompress.sh

step "Presupuesto del WASM"
scripts/budgets.sh

step "Playwright (Chromium de Debian)"
cd end2end
npx playwright test
