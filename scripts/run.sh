#!/usr/bin/env bash
# `make run`: make sure there is a swarm to manage, then serve the API with gunicorn.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(docker info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null)" != "true" ]; then
  echo "run: the host's Docker is not a swarm manager; bringing the lab swarm up (make lab)"
  scripts/lab.sh up
fi

# The record store's SQLite file: under the checkout, unless DATA_DIR or DATABASE_URL says otherwise.
export DATA_DIR=${DATA_DIR:-$PWD/.data}

# No token given: one generated once and kept in a file only its owner reads, so it lasts across
# restarts and `qm` can read it (QM_TOKEN_FILE) without it showing in a command line.
if [ -z "${TOKEN:-}" ] && [ -z "${TOKEN_FILE:-}" ]; then
  TOKEN_FILE=$DATA_DIR/token
  if [ ! -s "$TOKEN_FILE" ]; then
    mkdir -p "$DATA_DIR"
    (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(24))' >"$TOKEN_FILE")
    echo "run: TOKEN was not set; generated one into $TOKEN_FILE"
  fi
  export TOKEN_FILE
  echo "run: clients send the token in $TOKEN_FILE; for qm: export QM_TOKEN_FILE=$TOKEN_FILE"
fi
exec .venv/bin/quartermaster "$@"
