# Cairn's production image: one image for `cairn api`, `cairn projector` and `cairn start`.
# Stage 1 compiles (TypeScript, and better-sqlite3's native addon, which needs python3/make/g++);
# stage 2 keeps only what runs: the compiled dist/, production dependencies, the entry point.

FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY apps ./apps
COPY libs ./libs
RUN node bin/build-if-stale.js --force \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    CAIRN_DATA_DIR=/data \
    PORT=3000 \
    CAIRN_PROJECTOR_HEALTH_PORT=3001
WORKDIR /app
COPY --from=build /app/package.json /app/tsconfig.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin/cairn.js /app/bin/paths.js ./bin/
# The data directory (embedded node's log, SQLite read models) belongs to the unprivileged user.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# Ready = event store, read store and disk up (GET /health/ready). `cairn projector` serves no API:
# it answers /health/ready on CAIRN_PROJECTOR_HEALTH_PORT instead (event store, read store, no
# failed projection); docker-compose.yml points the projector's check there.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/cairn.js"]
CMD ["api"]
