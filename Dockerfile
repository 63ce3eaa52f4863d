# sessiond's container image: built on Debian 12 with the packages scripts/install-deps.sh names,
# run on Debian 12 with only the runtime libraries, as the non-root user 10001, no shell needed.
#   docker build -t sessiond .                      (BASE defaults to Debian 12 slim)
#   docker build --build-arg BASE=my-bookworm -t sessiond .   (a local Debian 12 base image)
# The entrypoint is sessiond; arguments are its flags (every flag is also SESSIOND_<FLAG>).
# `sessiond health --addr=127.0.0.1:50051` is the exec health check. See docs/DEPLOYMENT.md.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
RUN /src/scripts/install-deps.sh && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY . /src
# Only the server: no tests, no clients beyond what it links.
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSESSIOND_BUILD_TESTS=OFF \
    && cmake --build /build --target sessiond -j 2 \
    && strip /build/service/sessiond

FROM ${BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       libgrpc++1.51 libhiredis0.14 libpq5 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 \
       libsnappy1v5 liblz4-1 libzstd1 \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/* \
    && groupadd --gid 10001 sessiond \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /data \
       --shell /usr/sbin/nologin sessiond \
    && mkdir -p /data && chown 10001:10001 /data
COPY --from=build /build/service/sessiond /usr/local/bin/sessiond
USER 10001:10001
WORKDIR /data
ENV SESSIOND_LISTEN=0.0.0.0:50051 SESSIOND_DATA_DIR=/data/sessiond
EXPOSE 50051 9090
ENTRYPOINT ["/usr/local/bin/sessiond"]
