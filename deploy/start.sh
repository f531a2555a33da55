#!/usr/bin/env bash
# Starts the production profile: installs the Debian packages if missing, then runs every process
# under supervisord (python -m bts.deploy run). Settings come from the environment; see
# deploy/README.md. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
deploy/install.sh
# The model that belongs to the current training inputs, unless one is named.
BTS_PROD_MODEL=${BTS_PROD_MODEL:-$("$PY" scripts/model_files.py)}
export BTS_PROD_MODEL PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" -m bts.deploy run
