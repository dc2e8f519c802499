# GPU service image. Targets:
#   runtime (default)  node:24-bookworm-slim, production dependencies only
#   cuda-devel         the same service on nvidia/cuda:11.8.0-cudnn8-devel-ubuntu22.04 (Node.js
#                      copied in), the base for later native builds: --target cuda-devel
# GPUs come from the NVIDIA Container Toolkit at run time (docker --gpus, the compose GPU
# reservation, a Kubernetes nvidia.com/gpu request); nothing NVIDIA is copied into the image.
# See docs/containers.md.

ARG NODE_IMAGE=node:24-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:11.8.0-cudnn8-devel-ubuntu22.04

# ---- dependencies and build ------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY package.json package-lock.json ./
# Optional build secrets: `npmrc` (a private registry or token) and `ca_bundle` (a TLS
# inspection CA), e.g. --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt.
# Neither ends up in a layer.
RUN --mount=type=cache,target=/root/.npm \
    --mount=type=secret,id=npmrc,target=/root/.npmrc \
    --mount=type=secret,id=ca_bundle,target=/run/secrets/ca_bundle \
    if [ -s /run/secrets/ca_bundle ]; then export npm_config_cafile=/run/secrets/ca_bundle; fi \
    && npm ci
COPY nest-cli.json tsconfig.json tsconfig.build.json .swcrc ./
COPY libs ./libs
COPY src ./src
RUN npm run build \
    && npm prune --omit=dev \
    && find dist -name '*.map' -delete \
    && test -f dist/src/main.js \
    && test -f dist/src/healthcheck.js

# ---- the application as both runtime targets run it ---------------------------------------------
# /app: package.json, the production node_modules, dist, and a V8 code cache of the module graph,
# with which a start does not compile the JavaScript again (about a third of module loading).
# Node keys the cache by its own version and by uid, and looks entries up by path: it is made
# with the Node the targets run, as the service user (10001), from /app. Node writes its cache
# files 0600; they are opened to reading. A pod under another uid finds no cache and compiles
# as usual.
FROM ${NODE_IMAGE} AS app
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
RUN install -d -o 10001 -g 10001 /app/.node-compile-cache \
    && setpriv --reuid=10001 --regid=10001 --clear-groups \
       env NODE_COMPILE_CACHE=/app/.node-compile-cache \
       node --input-type=module -e "await import('/app/dist/src/bootstrap.js')" \
    && chmod -R a+rX,go-w /app/.node-compile-cache \
    && test -n "$(ls -A /app/.node-compile-cache/*)"

# ---- the same service on the CUDA devel base (docker build --target cuda-devel) ---------------
FROM ${CUDA_IMAGE} AS cuda-devel
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini ca-certificates \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/cache/apt/*.bin \
    && groupadd --gid 10001 gpusvc \
    && useradd --uid 10001 --gid gpusvc --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin gpusvc
# Node.js and npm from the build stage (the official binaries run on glibc 2.28 and later).
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
    && node --version
# The CUDA base sets NVIDIA_VISIBLE_DEVICES=all; empty means the same as unset to the toolkit.
ENV NODE_ENV=production \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    NVIDIA_VISIBLE_DEVICES= \
    PORT=8000 \
    HOST=0.0.0.0 \
    NODE_COMPILE_CACHE=/app/.node-compile-cache
WORKDIR /app
# The application (see its stage), owned by root: the service reads it and cannot change it.
COPY --from=app --chown=0:0 /app /app
# Labels last, so that a new revision or date leaves the layers above cached.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=
ARG CUDA_IMAGE
LABEL org.opencontainers.image.title="gpu-service-cuda-devel" \
      org.opencontainers.image.description="Reports NVIDIA GPUs through NVML and serves Kubernetes probes (CUDA devel base)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.documentation="docs/containers.md" \
      org.opencontainers.image.base.name="${CUDA_IMAGE}"
USER 10001:10001
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "dist/src/healthcheck.js"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/main.js"]

# ---- runtime: the default target (last, so a plain build makes it) ---------------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: forwards SIGTERM/SIGINT to Node.js and reaps any orphaned child.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/cache/apt/*.bin \
    && groupadd --gid 10001 gpusvc \
    && useradd --uid 10001 --gid gpusvc --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin gpusvc
# compute: libcuda.so.1 (start-up smoke test); utility: libnvidia-ml.so.1 (NVML).
# NVIDIA_VISIBLE_DEVICES is left unset: the GPU request (compose, --gpus, the device plugin)
# decides which GPUs this container sees, never the image.
ENV NODE_ENV=production \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    PORT=8000 \
    HOST=0.0.0.0 \
    NODE_COMPILE_CACHE=/app/.node-compile-cache
WORKDIR /app
# The application (see its stage), owned by root: the service reads it and cannot change it.
COPY --from=app --chown=0:0 /app /app
# Labels last, so that a new revision or date leaves the layers above cached.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=
LABEL org.opencontainers.image.title="gpu-service" \
      org.opencontainers.image.description="Reports NVIDIA GPUs through NVML and serves Kubernetes probes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.documentation="docs/containers.md" \
      org.opencontainers.image.base.name="docker.io/library/node:24-bookworm-slim"
USER 10001:10001
EXPOSE 8000
STOPSIGNAL SIGTERM
# Liveness only (readiness reflects the GPUs; an unready container is not a broken one).
# The start period covers NVML start-up and the CUDA smoke test on every GPU.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "dist/src/healthcheck.js"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/main.js"]
