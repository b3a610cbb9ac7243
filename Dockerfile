# kmviz as a container image: one static binary, the web app with the demo's plugins, and
# nothing else. `cargo xtask image` makes the build context (a musl binary at `kmviz`, the app
# at `site/`, an empty `data/`) and builds this file with docker, else podman.
#
#   docker run -p 8080:8080 kmviz                                        # the demo
#   docker run -p 8080:8080 -v ./conf:/conf:ro kmviz serve --config /conf/kmviz.toml
#
# Indexes and metadata are mounted read-only where the configuration names them; sessions,
# compiled plugins and the demo's survey go in the volume /data.
FROM scratch
COPY kmviz /kmviz
COPY site /site
# Owned by nobody in the image: a new volume on /data starts as this folder.
COPY --chown=65534:65534 data /data
ENV KMVIZ_SITE=/site KMVIZ_ADDRESS=0.0.0.0 HOME=/data XDG_DATA_HOME=/data TMPDIR=/data
VOLUME /data
WORKDIR /data
# nobody: the server needs no privilege, and the volume is its only writable place.
USER 65534:65534
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD ["/kmviz", "health"]
ENTRYPOINT ["/kmviz"]
CMD ["demo"]
