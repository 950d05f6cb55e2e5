# syntax=docker/dockerfile:1
# a2a-gateway: build with the dev toolchain, run on a slim image with production dependencies only.
#   docker build -t a2a-gateway .
#   docker build --build-arg CLAUDE_CODE_VERSION=2.1.197 -t a2a-gateway:claude .
# docs/deployment.md describes every argument, volume and setting.

ARG NODE_VERSION=20.20.2

FROM node:${NODE_VERSION}-bookworm-slim AS build
# better-sqlite3 downloads a prebuilt binary; the compiler is the fallback when none matches.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own prepare step needs the sources, which come later; only the native
# dependency's install step runs here.
RUN npm ci --ignore-scripts --no-audit --no-fund \
  && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
  && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# git: workspaces are git worktrees. tini: PID 1 that forwards SIGTERM to the gateway (which drains its tasks)
# and reaps the coding agents' orphaned children.
RUN apt-get update \
  && apt-get install -y --no-install-recommends git tini ca-certificates \
  && rm -rf /var/lib/apt/lists/*

# Coding-agent CLIs, installed only when their version is given (none by default). The versions the project's
# end-to-end tests pin (test/e2e/package.json): CLAUDE_CODE_VERSION=2.1.197 DROID_VERSION=0.215.0
# CODEX_VERSION=0.169.0 GEMINI_CLI_VERSION=0.61.0 OPENCODE_VERSION=1.18.33 QWEN_CODE_VERSION=0.15.10
# COPILOT_VERSION=1.0.102.
ARG CLAUDE_CODE_VERSION=""
ARG DROID_VERSION=""
ARG CODEX_VERSION=""
ARG GEMINI_CLI_VERSION=""
ARG OPENCODE_VERSION=""
ARG QWEN_CODE_VERSION=""
ARG COPILOT_VERSION=""
RUN set -eu; \
  pkgs=""; \
  if [ -n "$CLAUDE_CODE_VERSION" ]; then pkgs="$pkgs @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION"; fi; \
  if [ -n "$DROID_VERSION" ]; then pkgs="$pkgs droid@$DROID_VERSION"; fi; \
  if [ -n "$CODEX_VERSION" ]; then pkgs="$pkgs @openai/codex@$CODEX_VERSION"; fi; \
  if [ -n "$GEMINI_CLI_VERSION" ]; then pkgs="$pkgs @google/gemini-cli@$GEMINI_CLI_VERSION"; fi; \
  if [ -n "$OPENCODE_VERSION" ]; then pkgs="$pkgs opencode-ai@$OPENCODE_VERSION"; fi; \
  if [ -n "$QWEN_CODE_VERSION" ]; then pkgs="$pkgs @qwen-code/qwen-code@$QWEN_CODE_VERSION"; fi; \
  if [ -n "$COPILOT_VERSION" ]; then pkgs="$pkgs @github/copilot@$COPILOT_VERSION"; fi; \
  if [ -n "$pkgs" ]; then npm install -g --no-audit --no-fund $pkgs && npm cache clean --force; fi

RUN groupadd --system --gid 10001 a2a \
  && useradd --system --uid 10001 --gid a2a --home-dir /home/a2a --create-home --shell /usr/sbin/nologin a2a \
  && mkdir -p /data /workspaces \
  && chown a2a:a2a /data /workspaces

ENV NODE_ENV=production \
  HOST=0.0.0.0 \
  PORT=8000 \
  DATA_DIR=/data \
  WORKSPACE_ROOTS=/workspaces \
  HOME=/home/a2a

WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Files the package ships besides its build output (package.json "files"): the dashboard's static assets.
COPY --from=build /app/src/dashboard/static ./src/dashboard/static
COPY .env.example ./

USER a2a
VOLUME ["/data", "/workspaces"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/cli/main.js"]
CMD ["serve"]
