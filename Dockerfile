# smartmeter's image: the stack runs `inject` and `ingest` from it.
#   docker build -t smartmeter:0.1.0 .                                      (official Node image)
#   docker build --build-arg BASE_IMAGE=<image with node ≥ 22.12 and npm> . (e.g. the test rig's offline base)
# Node's newest LTS line (26); the rig's base carries the Node that runs the rig, 26 in CI.
# It runs as an unprivileged user given by number (10001:10001), so that Kubernetes'
# runAsNonRoot accepts it; the chart's pods of this image say the same (sm.smartmeterPodSecurity).
ARG BASE_IMAGE=node:26-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY templates ./templates
# npm ci builds (prepare): dist/, and the chart's files/ copied from templates/cql and templates/config.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM ${BASE_IMAGE}
# The user has a passwd entry (a name for ps and id, a home) but is selected by number. It owns
# nothing here: the code is root's and read-only to it; the commands write only where told (-o).
RUN groupadd --system --gid 10001 smartmeter \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin smartmeter
WORKDIR /opt/smartmeter
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/templates ./templates
COPY bin ./bin
COPY alt_properties ./alt_properties
USER 10001:10001
ENTRYPOINT ["node", "/opt/smartmeter/bin/smartmeter"]
CMD ["--help"]
