# syntax=docker/dockerfile:1
# One image for the API (default command) and the gateway (`node --import tsx pushgateway/node.ts`).
#
# The TypeScript runs through tsx, as `npm start` does, rather than a compile step: one way to run the
# code in development, tests and production, no second build configuration to drift from the ESM/`.js`
# import conventions, and tsx is a runtime dependency already. The cost is a one-off transpile at
# start (esbuild, well under a second), not per request.

ARG NODE_IMAGE=node:20.19.5-bookworm-slim

# --- dependencies: production only, from the lockfile ---------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime --------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    GATEWAY_PORT=9091
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json tsconfig.json ./
COPY --chown=root:root api ./api
COPY --chown=root:root pushgateway ./pushgateway
COPY --chown=root:root drizzle ./drizzle
# The code is owned by root and read-only to the app user; only /data (gateway persistence, PGlite)
# is writable.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000 9091
# fetch is global in Node 20: no curl in the image.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/api/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1's child under `init: true` (compose), so SIGTERM reaches the app's shutdown
# handler (final metric push, log flush) directly, without npm in between.
CMD ["node", "--import", "tsx", "api/node.ts"]
