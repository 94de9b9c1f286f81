# Airflow with Node 20 and restlake, so BashOperator tasks can run `restlake run`.
FROM node:20-bookworm-slim AS restlake-build
WORKDIR /opt/restlake
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY examples ./examples
RUN npm ci && npx tsc -p . && npm prune --omit=dev

FROM apache/airflow:2.10.4-python3.11
USER root
COPY --from=restlake-build /usr/local/bin/node /usr/local/bin/node
COPY --from=restlake-build /opt/restlake /opt/restlake
RUN chown -R airflow: /opt/restlake
USER airflow
