# syntax=docker/dockerfile:1
# Multi-stage: build with dev dependencies, run compiled JavaScript with production dependencies only,
# as a non-root user. Current LTS Node.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-fund --no-audit
COPY tsconfig.json ./
COPY gateway ./gateway
COPY platform ./platform
COPY audit ./audit
COPY exchange ./exchange
COPY notifications ./notifications
COPY catalog ./catalog
COPY policies ./policies
COPY certs ./certs
COPY connectors ./connectors
COPY federation ./federation
COPY scripts ./scripts
COPY test ./test
COPY bench ./bench
RUN npx tsc -p tsconfig.json && rm -rf dist/test dist/bench

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-fund --no-audit

FROM node:24-bookworm-slim
# A young generation of up to 32 MB per semi-space: the gateway allocates ~90 KB per data call, and with
# V8's default it promoted calls still in flight and ran a full GC every few seconds (bench/README.md).
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=32 \
    GOVSHARE_HOST=0.0.0.0 \
    GOVSHARE_PORT=8080 \
    GOVSHARE_DATA_DIR=/var/lib/govshare
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /var/lib/govshare && chown node:node /var/lib/govshare && chmod 0700 /var/lib/govshare \
 && ln -s /app/dist/gateway/cli/bin.js /usr/local/bin/govshare && chmod +x /app/dist/gateway/cli/bin.js
USER node
VOLUME ["/var/lib/govshare"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+process.env.GOVSHARE_PORT+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "/app/dist/gateway/cli/bin.js"]
CMD ["serve"]
