# smartmeter's image: the stack runs `inject` and `ingest` from it.
#   docker build -t smartmeter:0.1.0 .                                   (official Node image)
#   docker build --build-arg BASE_IMAGE=<image with node ≥ 20 and npm> . (e.g. the test rig's offline base)
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY templates ./templates
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM ${BASE_IMAGE}
WORKDIR /opt/smartmeter
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY templates ./templates
COPY alt_properties ./alt_properties
ENTRYPOINT ["node", "/opt/smartmeter/bin/smartmeter"]
CMD ["--help"]
