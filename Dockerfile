# Builds the one `lastmile` binary; the same image runs `lastmile core` and `lastmile edge`.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin lastmile

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/lastmile --create-home lastmile
COPY --from=build /src/target/release/lastmile /usr/local/bin/lastmile
USER lastmile
WORKDIR /var/lib/lastmile
ENTRYPOINT ["lastmile"]
CMD ["serve"]
