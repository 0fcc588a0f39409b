# The harness's Python emulators, one small image per service, built with no network at all.
#
# The build context is prepared by harness/environments/images.py (`cmg-harness images build`):
#   wheels/deps/     every runtime dependency as a wheel for CPython 3.11 on Linux, and requirements.txt
#   wheels/harness/  the harness's own wheel
# BASE_IMAGE needs python3 (3.11) with the venv module; where no registry is reachable,
# `cmg-harness images base` imports a Debian one made with debootstrap (it has node too).
#
# Contract: `docker run --network host -e HARNESS_PORT=P [-e HARNESS_CA=CA.pem] IMAGE --port P --config FILE`;
# the service binds 127.0.0.1:P and prints `READY <service> 127.0.0.1:P` once it accepts connections.

ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS dependencies
# pip lives in a venv of its own and installs into /opt/harness, which therefore never holds pip. The harness
# itself goes to /opt/harness-package (a .pth file puts it on the venv's path), a layer of its own: a change
# to the harness alone reuses every layer of dependencies, and the images differ by a few megabytes.
RUN python3 -m venv /opt/pip \
 && python3 -m venv --without-pip /opt/harness \
 && echo /opt/harness-package \
        > "$(/opt/harness/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/cmg-harness.pth"
COPY wheels/deps /tmp/wheels/deps
RUN /opt/pip/bin/python -m pip --python /opt/harness/bin/python install --no-index --no-cache-dir \
        --disable-pip-version-check --quiet --find-links /tmp/wheels/deps -r /tmp/wheels/deps/requirements.txt

FROM dependencies AS package
COPY wheels/harness /tmp/wheels/harness
# --no-deps, then `pip check`: the dependencies are the venv's, and must satisfy the harness's requirements.
RUN /opt/pip/bin/python -m pip install --no-index --no-cache-dir --disable-pip-version-check --quiet --no-deps \
        --target /opt/harness-package /tmp/wheels/harness/*.whl \
 && rm -rf /opt/harness-package/bin \
 && /opt/pip/bin/python -m pip --python /opt/harness/bin/python check --disable-pip-version-check

FROM ${BASE_IMAGE} AS runtime
ARG BASE_IMAGE
ARG HARNESS_TAG=dev
COPY --from=dependencies /opt/harness /opt/harness
COPY --from=package /opt/harness-package /opt/harness-package
# Containers may run as the caller's user: nothing at run time writes below /opt.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /tmp
# Liveness: GET https://127.0.0.1:$HARNESS_PORT/_harness/health. Docker's default interval, on purpose: a
# probe costs about 0.2 s of CPU (Docker's exec and the probe), and seven containers probed every 5 s took
# 30 % of a core from timing-sensitive scenarios. Starts are awaited by polling from outside; whoever wants the
# status sooner passes `--health-interval` (on Docker 25+, `--health-start-interval`).
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
    CMD ["/opt/harness/bin/python", "-m", "harness.service.healthcheck"]
LABEL org.opencontainers.image.title="CMG Content Harness emulator" \
      org.opencontainers.image.description="An emulated ConfigMgr / CMG service of the CMG Content Harness" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${HARNESS_TAG}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.cmg-harness.tag="${HARNESS_TAG}" \
      org.cmg-harness.base="${BASE_IMAGE}"

FROM runtime AS site
LABEL org.cmg-harness.service="site"
ENTRYPOINT ["/opt/harness/bin/python", "-m", "harness.service.serve", "site"]

FROM runtime AS cmg
LABEL org.cmg-harness.service="cmg"
ENTRYPOINT ["/opt/harness/bin/python", "-m", "harness.service.serve", "cmg"]

FROM runtime AS clouddp
LABEL org.cmg-harness.service="clouddp"
ENTRYPOINT ["/opt/harness/bin/python", "-m", "harness.service.serve", "clouddp"]

FROM runtime AS client
LABEL org.cmg-harness.service="client"
ENTRYPOINT ["/opt/harness/bin/python", "-m", "harness.service.serve", "client"]

FROM runtime AS network
LABEL org.cmg-harness.service="network"
ENTRYPOINT ["/opt/harness/bin/python", "-m", "harness.service.serve", "network"]

FROM runtime AS storage
LABEL org.cmg-harness.service="storage"
ENTRYPOINT ["/opt/harness/bin/python", "-m", "harness.service.serve", "storage"]
