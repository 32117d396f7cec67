# PostgreSQL 15 for deploy/stack.yml where no public registry is reachable (the lab): Debian's
# postgresql-15 on the same local base as quartermaster's image. Its environment is the official
# postgres image's (POSTGRES_USER, POSTGRES_DB, POSTGRES_PASSWORD_FILE), so the stack runs on
# either; see deploy/postgres-entrypoint.sh for what the first start makes.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
# postgresql-common would make a cluster "main" in the image when the server is installed: the
# entrypoint makes one in the volume instead, at the first start.
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-common \
    && sed -ri 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' \
        /etc/postgresql-common/createcluster.conf \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
# The cluster is a directory inside the volume, not its root: a first start cut short leaves a
# half-made cluster beside it, never one the next start would take for finished.
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data/pgdata
COPY postgres-entrypoint.sh /usr/local/bin/
VOLUME /var/lib/postgresql/data
EXPOSE 5432
# SIGINT is PostgreSQL's fast shutdown (ends the sessions, checkpoints, exits); SIGTERM, Docker's
# default, would wait for every client to disconnect first.
STOPSIGNAL SIGINT
# Over TCP, as clients come: the superuser has no password, so the server asks for one and
# pg_isready hangs up there, which the server does not log.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["pg_isready", "--quiet", "--host=127.0.0.1", "--username=postgres", "--dbname=postgres"]
ENTRYPOINT ["postgres-entrypoint.sh"]
