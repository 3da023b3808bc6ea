#!/usr/bin/env bash
# Install the pinned front-end packages from the npm registry and copy the files Heartwatch serves
# (with their licences) into app/static/vendor. Served locally: the dashboard works offline.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules/htmx.org ] || [ package.json -nt node_modules/.installed ]; then
  npm install --no-audit --no-fund --no-package-lock --loglevel=error
  touch node_modules/.installed
fi
dest=app/static/vendor
mkdir -p "$dest"
cp node_modules/htmx.org/dist/htmx.min.js "$dest/htmx.min.js"
cp node_modules/htmx.org/LICENSE "$dest/htmx.LICENSE"
cp node_modules/htmx-ext-ws/dist/ws.min.js "$dest/htmx-ext-ws.min.js"
cp node_modules/htmx-ext-ws/LICENSE "$dest/htmx-ext-ws.LICENSE" 2>/dev/null || cp node_modules/htmx.org/LICENSE "$dest/htmx-ext-ws.LICENSE"
cp node_modules/chart.js/dist/chart.umd.min.js "$dest/chart.umd.min.js"
cp node_modules/chart.js/LICENSE.md "$dest/chart.js.LICENSE.md"
