#!/usr/bin/env bash
# Installs what building (and, with --test, testing) needs and is missing. Idempotent: a second
# run only checks. Everything comes from the package registries (crates.io, npm, Debian): the
# tools cargo-leptos would otherwise download from GitHub are put on PATH first.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=false
[ "${1:-}" = "--test" ] && want_test=true

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || { echo "Se necesita Rust (cargo) 1.95: https://rustup.rs" >&2; exit 1; }

apt_install() {
  command -v apt-get >/dev/null || { echo "Falta $*, y apt-get no está disponible para instalarlo." >&2; exit 1; }
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ -z "${APT_UPDATED:-}" ]; then $sudo apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q '0\.3\.10'; then
  say "cargo install cargo-leptos 0.3.10 (unos 15 minutos la primera vez)"
  cargo install cargo-leptos --version 0.3.10 --locked
fi

# wasm-bindgen-cli must be exactly the version of the wasm-bindgen crate in Cargo.lock.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $bindgen_version\$"; then
  say "cargo install wasm-bindgen-cli $bindgen_version"
  cargo install wasm-bindgen-cli --version "$bindgen_version"
fi

command -v npm >/dev/null || apt_install nodejs npm

# Debian's binaryen is too old for the WASM features rustc 1.95 emits; npm's binaryen@132 is not.
if ! wasm-opt --version 2>/dev/null | grep -q 'version 132'; then
  say "npm install -g binaryen@132 (wasm-opt)"
  npm install -g --no-audit --no-fund binaryen@132 >/dev/null
fi

# The bundle's gzip files (scripts/recompress.sh) and, for the tests, its size check.
command -v gzip >/dev/null || apt_install gzip

if $want_test; then
  # scripts/budgets.sh reads the WASM's name section with a small Python script.
  command -v python3 >/dev/null || apt_install python3
  # The DKIM test's independent verifier, dkimpy (scripts/dkim-verify.py).
  if ! python3 -c 'import dkim' 2>/dev/null && ! /usr/bin/python3 -c 'import dkim' 2>/dev/null; then
    say "apt-get install python3-dkim"
    apt_install python3-dkim
  fi
  if [ ! -x /usr/bin/chromium ]; then
    say "apt-get install chromium"
    apt_install chromium
  fi
  if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    say "npm ci (end2end)"
    (cd end2end && npm ci --no-audit --no-fund)
  fi
fi
