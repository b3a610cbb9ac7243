#!/bin/sh
# Builds the plugin: ./build.sh [OUT.wasm]   (default: csv-metadb.wasm)
# Needs node and npm; installs the pinned packages (npm ci) on the first run only.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-csv-metadb.wasm}
case $out in /*) ;; *) out=$PWD/$out ;; esac

cd "$here"
[ -d node_modules ] || npm ci --no-audit --no-fund

# componentize-js takes one JavaScript file: bundle src/ and apache-arrow into build/plugin.js,
# leaving the WASI imports to the component.
mkdir -p build "$(dirname "$out")"
npx --no-install esbuild src/plugin.js --bundle --format=esm --platform=neutral \
  --main-fields=module,main --external:'wasi:*' --log-level=warning --outfile=build/plugin.js

# Without `-d http fetch-event` the engine would import wasi:http, which this plugin never uses.
npx --no-install componentize-js build/plugin.js --wit wit --world-name csv-metadb \
  -d http fetch-event -o "$out"
echo "built $out"
