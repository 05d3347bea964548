#!/usr/bin/env bash
# Builds floatd from a checkout: npm packages, the native addon, the TypeScript.
# Idempotent and quiet when there is nothing to do.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
if [[ ! -d node_modules || package.json -nt node_modules/.package-lock.json ]]; then
  echo "floatd: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2 || npm install --no-audit --no-fund --loglevel=error >&2
fi
if [[ -f native/binding.gyp ]]; then
  if [[ ! -f native/build/Release/floatd_native.node || -n "$(find native/src native/binding.gyp -newer native/build/Release/floatd_native.node -print -quit)" ]]; then
    echo "floatd: building the native addon" >&2
    (cd native && ../node_modules/.bin/node-gyp rebuild --nodedir="${npm_config_nodedir:-/usr}" --loglevel=error >&2)
  fi
fi
echo "floatd: compiling TypeScript" >&2
rm -rf dist
npx --no-install tsc -p tsconfig.json
touch dist/.build-stamp
