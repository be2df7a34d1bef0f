# Manifestor's image: built with Swift 6, run on a slim Debian with libgit2 and libcurl, as a non-root user.
FROM swift:6.0-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libgit2-dev libcurl4-openssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
RUN swift build -c release --product manifestor --static-swift-stdlib \
    && install -D .build/release/manifestor /out/usr/local/bin/manifestor

FROM debian:bookworm-slim
# The commit reported by `manifestor --version` and GET /version:
#   docker build --build-arg MANIFESTOR_COMMIT=$(git rev-parse HEAD) .
ARG MANIFESTOR_COMMIT=unknown
ENV MANIFESTOR_COMMIT=$MANIFESTOR_COMMIT
RUN apt-get update && apt-get install -y --no-install-recommends libgit2-1.5 libcurl4 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/manifestor --shell /usr/sbin/nologin manifestor
COPY --from=build /out/ /
COPY templates /opt/manifestor/templates
COPY gitops-skeleton /opt/manifestor/gitops-skeleton
WORKDIR /opt/manifestor
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/manifestor"]
CMD ["serve", "--config", "/etc/manifestor/manifestor.yaml"]
