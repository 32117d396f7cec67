#!/usr/bin/env bash
# `make run`: make sure there is a swarm to manage, then serve the API with gunicorn.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(docker info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null)" != "true" ]; then
  echo "run: the host's Docker is not a swarm manager; bringing the lab swarm up (make lab)"
  scripts/lab.sh up
fi

if [ -z "${TOKEN:-}" ]; then
  TOKEN=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(24))')
  echo "run: TOKEN was not set; clients must send this generated token: $TOKEN"
fi
export TOKEN
# The record store's SQLite file: under the checkout, unless DATA_DIR or DATABASE_URL says otherwise.
export DATA_DIR=${DATA_DIR:-$PWD/.data}
exec .venv/bin/quartermaster "$@"
