#!/usr/bin/env bash
# `make image`, first step: a local Debian 12 base with Python, for when no public registry is
# reachable (python:3.11-slim cannot be pulled). Built once with debootstrap and cached: when the
# image exists, this does nothing. Remove the image (docker image rm) to rebuild it.
#
#   BASE_IMAGE (default qm/python-base:bookworm)  the tag to build
#   DEBIAN_MIRROR (default http://deb.debian.org/debian)
set -euo pipefail

BASE_IMAGE=${BASE_IMAGE:-qm/python-base:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
DOCKER=${DOCKER:-docker}

if "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "base-image: $BASE_IMAGE exists; nothing to do"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "base-image: debootstrap needs root" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null; then
  # make install's APT_PACKAGES has it; an install made before it was added does not.
  echo "base-image: installing debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

ROOT=$(mktemp -d /var/tmp/qm-python-base.XXXXXX)
chmod 0755 "$ROOT" # it becomes the image's /; mktemp made it 0700
cleanup() {
  # Nothing is ever mounted inside ROOT, and --one-file-system guards against it anyway.
  rm -rf --one-file-system "$ROOT"
}
trap cleanup EXIT

echo "base-image: debootstrap $SUITE into $ROOT"
debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 || {
  tail -20 "$ROOT.log" >&2
  rm -f "$ROOT.log"
  exit 1
}
rm -f "$ROOT.log"

# Like Debian's slim images: no manuals, docs or translations (copyright files are kept).
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
EOF
# No daemon may start inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod +x "$ROOT/usr/sbin/policy-rc.d"

echo "base-image: installing python3 python3-venv ca-certificates tzdata"
chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
  sh -euc '
    apt-get update -qq
    apt-get upgrade -y -qq
    apt-get install -y -qq --no-install-recommends python3 python3-venv ca-certificates tzdata
    apt-get clean
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt/* /var/log/dpkg.log
    find /usr/lib/python3* -name __pycache__ -prune -exec rm -rf {} +
  ' >/dev/null

rm -f "$ROOT/usr/sbin/policy-rc.d"
# Docker provides these at run time; do not bake in this host's resolver or name.
: >"$ROOT/etc/resolv.conf"
: >"$ROOT/etc/hostname"
rm -rf "$ROOT"/tmp/* "$ROOT"/var/tmp/*

echo "base-image: importing $BASE_IMAGE"
tar -C "$ROOT" --numeric-owner -c . |
  "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    - "$BASE_IMAGE" >/dev/null
echo "base-image: $BASE_IMAGE built"
