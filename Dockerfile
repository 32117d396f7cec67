# quartermaster: the HTTP service, as an image. Build with BuildKit (`make image`, or
# `DOCKER_BUILDKIT=1 docker build .`): the build stage uses RUN --mount. No `# syntax=` line on
# purpose: the builder's own Dockerfile frontend is used, so nothing is pulled to parse this file.
#
#   BASE   an image with python3 (3.11+), its venv module and Debian's tzdata (schedules' time
#          zones: zoneinfo reads /usr/share/zoneinfo); both stages use it, so the venv's
#          interpreter link resolves in the final stage. Default: the official slim image.
#          Offline/lab: BASE=qm/python-base:bookworm (scripts/base-image.sh).
#   secret "ca" (optional)  a CA bundle pip should trust, for a TLS-intercepting proxy:
#          --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt. Only mounted while pip runs in
#          the build stage; it is never written to a layer, least of all the final image's.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
WORKDIR /src
COPY requirements.txt ./
RUN --mount=type=secret,id=ca \
    if [ -f /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    /opt/venv/bin/pip install --only-binary=:all: -r requirements.txt
COPY pyproject.toml README.md ./
COPY quartermaster ./quartermaster
# The runtime needs neither pip nor setuptools: they go once the package is in.
RUN --mount=type=secret,id=ca \
    if [ -f /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    /opt/venv/bin/pip install --no-deps . \
    && /opt/venv/bin/pip uninstall -y pip setuptools \
    && find /opt/venv -name __pycache__ -prune -exec rm -rf {} +

FROM ${BASE}
# Only the venv: no compilers, no pip, no caches, no tests, no CA bundle of the build host.
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
# Runs as root on purpose: quartermaster talks to the swarm manager through the mounted
# /var/run/docker.sock, which only root (or the host's docker group) may open. Whoever can use
# that socket is root on the host anyway; see README "Deployment" for limiting exposure.
USER root
WORKDIR /
# The record store's SQLite file, when DATABASE_URL names no other store: a volume, so a new
# container of the image (an upgrade) finds the history of the old one. Owner-only (0700), as
# quartermaster makes it itself: a new volume takes the mode of the image's directory.
ENV DATA_DIR=/var/lib/quartermaster
RUN mkdir -p -m 0700 /var/lib/quartermaster
VOLUME ["/var/lib/quartermaster"]
EXPOSE 9090
# /healthz: Docker answers and this is a swarm manager. Follows PORT; a --port flag or a BIND
# other than 0.0.0.0/127.0.0.1 is not seen here. Swarm counts a task as running only once it is
# healthy, and the first check comes one interval after the start: hence 10s, not 30s.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '9090'), timeout=4)"]
# The console script, as the original binary: -e TOKEN/TOKEN_FILE/PORT/MEMORY..., flags after
# the image name (docker run IMAGE --memory 512).
ENTRYPOINT ["quartermaster"]
