#!/usr/bin/env bash
# `make bench`: installs what is missing, builds the release, then measures it
# (end2end/bench/bench.mjs): bundle size, field feedback and start-up in Chromium, server
# throughput with wrk, lookups during a reset flood, memory. Prints the report and writes it into
# BENCHMARKS.md between its `<!-- bench:start -->` / `<!-- bench:end -->` markers.
# With BENCH_POSTGRES_URL (or TEST_POSTGRES_URL) set, the server section also runs on PostgreSQL.
# Takes under 3 minutes once built; run it on an otherwise idle machine, numbers are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh --test
export PATH="$HOME/.cargo/bin:$PATH"

apt_install() {
  command -v apt-get >/dev/null || { echo "Falta $*, y apt-get no está disponible para instalarlo." >&2; exit 1; }
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

command -v wrk >/dev/null || { echo "==> apt-get install wrk" >&2; apt_install wrk; }
# psql creates and drops the benchmark's own PostgreSQL database.
if [ -n "${BENCH_POSTGRES_URL:-${TEST_POSTGRES_URL:-}}" ] && ! command -v psql >/dev/null; then
  echo "==> apt-get install postgresql-client" >&2
  apt_install postgresql-client
fi

# The same build as `make run` and `make test`, precompressed files included, so the bench measures
# what is served. CARGO_TARGET_DIR is left as the caller set it: the bench finds the server there.
cargo leptos build --release --precompress
scripts/recompress.sh
exec node end2end/bench/bench.mjs
