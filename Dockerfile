# Build: Debian 12 with the system libraries samael (SAML, xmlsec) needs.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      pkg-config libssl-dev libxml2-dev libxmlsec1-dev libclang1-14 libclang-common-14-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/lobby

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates libxmlsec1 libxmlsec1-openssl libxml2 libssl3 \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/lobby lobby
COPY --from=build /src/target/release/lobby /usr/local/bin/lobby
COPY --from=build /src/templates /usr/share/lobby/templates
COPY --from=build /src/static /usr/share/lobby/static
USER lobby
ENV LOBBY_DATA_DIR=/var/lib/lobby
EXPOSE 8080
CMD ["lobby", "serve"]
