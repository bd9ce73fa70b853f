# syntax=docker/dockerfile:1
# One image for the API (default command), the gateway (`node <gatewayNodeFlags> dist/pushgateway/node.js`,
# see gatewayNodeFlags in build.ts), migrations
# (`node dist/api/db/migrate-cli.js`) and the Elasticsearch setup (`node dist/monitoring/elasticsearch/setup.js`).
#
# The build stage compiles the TypeScript (`npm run build`, esbuild: our modules bundled per entry, packages
# left as imports); the runtime stage holds that JavaScript, the migrations and production dependencies
# only, so no TypeScript loader and no dev-only code run in production.

ARG NODE_IMAGE=node:24.22.3-trixie-slim

# --- build: every dependency, the sources, dist/ ----------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts are skipped: the build needs esbuild's JavaScript API only (its binary comes as a package),
# not workerd or sharp.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json build.ts ./
COPY api ./api
COPY pushgateway ./pushgateway
COPY drizzle ./drizzle
COPY monitoring/elasticsearch/setup.ts ./monitoring/elasticsearch/setup.ts
RUN npm run build

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
COPY --chown=root:root package.json ./
COPY --from=build --chown=root:root /app/dist ./dist
# Found at run time beside where the sources were (the bundles resolve paths as their modules did).
COPY --chown=root:root drizzle/migrations ./drizzle/migrations
# The code is owned by root and read-only to the app user; only /data (gateway persistence, PGlite)
# is writable.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000 9091
# fetch is global in Node: no curl in the image.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/api/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1's child under `init: true` (compose), so SIGTERM reaches the app's shutdown
# handler (final metric push, log flush) directly, without npm in between.
CMD ["node", "dist/api/node.js"]
