#!/usr/bin/env bash
# cargo-leptos --precompress writes a .br and a .gz beside each file of the bundle; its gzip is
# made at a low level (the WASM came out 17 % larger than with gzip -9). Browsers that do not
# take brotli get the -9 file instead. Run after `cargo leptos build --release --precompress`.
set -euo pipefail
cd "$(dirname "$0")/.."
for f in target/site/pkg/*.wasm target/site/pkg/*.js target/site/pkg/*.css; do
  [ -e "$f" ] || continue
  gzip -9 -n -c "$f" > "$f.gz.tmp" && mv "$f.gz.tmp" "$f.gz"
done
