# Spark with Node 20 on every executor host: Spark runs restlake's worker
# (dist/worker/main.js) as a script transformation inside each executor.
FROM node:20-bookworm-slim AS restlake-build
WORKDIR /opt/restlake
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY examples ./examples
RUN npm ci && npx tsc -p . && npm prune --omit=dev
FROM node:20-bookworm-slim AS node
FROM apache/spark:3.5.3
USER root
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=restlake-build /opt/restlake /opt/restlake
USER spark
