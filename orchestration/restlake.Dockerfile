# restlake itself: Node 20 + `npm ci` (which builds dist/). Used by the mock-api service
# and copied into the Spark and Airflow images. Build context: the repository root.
FROM node:20-bookworm-slim
WORKDIR /opt/restlake
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY examples ./examples
RUN npm ci && npx tsc -p . && npm prune --omit=dev
ENV PATH=/opt/restlake/node_modules/.bin:$PATH
