# admit in a container: a static binary on an empty image, run as a
# non-root user, the SQLite database on the /data volume.
#
#   docker build -t admit --build-arg VERSION=1.0.0 --build-arg COMMIT=$(git rev-parse HEAD) .
#   docker run -d -p 8080:8080 -v admit-data:/data -e ADMIT_PUBLIC_URL=https://gates.example.org admit
#
# PostgreSQL and several nodes: compose.yaml. See docs/OPERATIONS.md.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
ARG COMMIT=unknown
# modernc.org/sqlite is pure Go: no cgo, a static binary.
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/admitdev/admit/buildinfo.version=${VERSION} -X github.com/admitdev/admit/buildinfo.commit=${COMMIT}" \
      -o /out/admit ./cmd/admit \
 && /out/admit version
# What the empty image needs: a user, a writable /tmp (imports spool their
# upload there), the data directory owned by the user, CA certificates (for
# PostgreSQL over TLS with sslmode=verify-full).
RUN mkdir -p /out/root/etc /out/root/tmp /out/root/data \
 && echo 'admit:x:10001:10001:admit:/data:/sbin/nologin' > /out/root/etc/passwd \
 && echo 'admit:x:10001:' > /out/root/etc/group \
 && chmod 1777 /out/root/tmp \
 && chown 10001:10001 /out/root/data \
 && chmod 0700 /out/root/data

FROM scratch
COPY --from=build /out/root/ /
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/admit /admit
USER 10001:10001
ENV ADMIT_DB=/data/admit.db \
    ADMIT_LISTEN=0.0.0.0:8080 \
    TMPDIR=/tmp
VOLUME /data
WORKDIR /data
EXPOSE 8080
# The process answers; readiness (the database) is /readyz: `admit
# healthcheck --ready`, for an orchestrator that routes on it.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["/admit", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/admit"]
CMD ["serve"]
