#!/usr/bin/env bash
# The size budget of the browser bundle, checked by the test command after the release build
# (issue "Performance"): the release WASM, gzip -9, must stay within BUDGET_WASM_GZIP bytes, and
# the browser crate must not pull in regex or chrono, nor two versions of serde_json.
set -euo pipefail
cd "$(dirname "$0")/.."

# Issue 17's target: the bundle is 149,821 B (see BENCHMARKS.md, "Budgets"); it may not grow
# past the target again.
BUDGET_WASM_GZIP=${BUDGET_WASM_GZIP:-150000}

wasm=$(ls target/site/pkg/*.wasm 2>/dev/null | head -1)
[ -n "$wasm" ] || { echo "No hay WASM en target/site/pkg: ejecute cargo leptos build --release" >&2; exit 1; }
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
echo "WASM de producción: $raw B sin comprimir, $gz B con gzip -9 (presupuesto $BUDGET_WASM_GZIP B)"
if [ "$gz" -gt "$BUDGET_WASM_GZIP" ]; then
  echo "El WASM excede su presupuesto por $((gz - BUDGET_WASM_GZIP)) B." >&2
  exit 1
fi

# What the bundle is made of: the module cargo built, through wasm-bindgen and wasm-opt as for the
# browser, but keeping the function names (the shipped file has none).
built="${CARGO_TARGET_DIR:-target}/front/wasm32-unknown-unknown/wasm-release/frontend.wasm"
named_dir=$(mktemp -d)
trap 'rm -rf "$named_dir"' EXIT
wasm-bindgen --target web --no-typescript --keep-debug --out-dir "$named_dir" --out-name named "$built"
wasm-opt -Oz -g --enable-bulk-memory --enable-nontrapping-float-to-int \
  "$named_dir/named_bg.wasm" -o "$named_dir/named.wasm"
python3 scripts/wasm-top.py "$named_dir/named.wasm" 10 --forbid regex,regex_automata,regex_syntax,chrono

# One serde_json only, among the crates compiled for the browser.
tree=$(cargo tree -p frontend --target wasm32-unknown-unknown -e normal,no-proc-macro --prefix none --locked)
versions=$( (grep "^serde_json v" <<<"$tree" || true) | awk '{print $2}' | sort -u | wc -l)
if [ "$versions" -gt 1 ]; then
  echo "El WASM incluye $versions versiones de serde_json." >&2
  exit 1
fi
echo "serde_json: $versions versión en el grafo del navegador."
