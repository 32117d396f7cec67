# nginx for deploy/stack.yml where no public registry is reachable (the lab): Debian's nginx on the
# same local base as quartermaster's image. Elsewhere, the stack's default, the official nginx
# image, does the same job. The configuration is not baked in: the stack mounts deploy/nginx.conf.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light \
    && apt-get clean && rm -rf /var/lib/apt/lists/* \
    && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
