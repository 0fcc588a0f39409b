# Azurite's blob service (the Azure Storage emulator from npm), built with no network at all.
#
# The build context is prepared by harness/environments/images.py (`cmg-harness images build`):
#   azurite/  `npm install --omit=dev azurite@<the version package-lock.json locks>`
# BASE_IMAGE needs node (Azurite 3.35 supports Node >= 10); where no registry is reachable,
# `cmg-harness images base` imports a Debian one made with debootstrap (Node 18).
#
# Contract: `docker run --network host -e HARNESS_PORT=P -e AZURITE_ACCOUNTS=... IMAGE --blobHost 127.0.0.1
# --blobPort P --inMemoryPersistence --disableTelemetry ... --cert CERT --key KEY` (the arguments that
# harness/environments/azurite.py gives the local process).

ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS azurite
ARG BASE_IMAGE
ARG AZURITE_VERSION=unknown
# A hash of this file and the Azurite version: the harness's sources change nothing here, so an image of other
# sources with the same inputs is tagged again rather than built again.
ARG AZURITE_INPUTS=unknown
COPY azurite /opt/azurite
# Containers may run as the caller's user: a working folder anyone may write to.
WORKDIR /tmp
ENV HARNESS_PORT=10000
# Liveness: a TCP connection to 127.0.0.1:$HARNESS_PORT (an HTTP probe would need the account keys), in Node,
# the one program every base image for Azurite has. The interval is Docker's default, as in
# emulators.Dockerfile (which says why).
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
    CMD ["node", "-e", "const port = Number(process.env.HARNESS_PORT); const net = require('net'); if (!(port > 0)) { console.error('HARNESS_PORT is not a port: ' + process.env.HARNESS_PORT); process.exit(1); } const socket = net.connect(port, '127.0.0.1', () => { console.log('listening on 127.0.0.1:' + port); process.exit(0); }); socket.setTimeout(2000, () => { console.error('no answer from 127.0.0.1:' + port + ' within 2 s'); process.exit(1); }); socket.on('error', (error) => { console.error('127.0.0.1:' + port + ': ' + error.message); process.exit(1); });"]
LABEL org.opencontainers.image.title="CMG Content Harness Azurite" \
      org.opencontainers.image.description="Azurite's blob service for the CMG Content Harness" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${AZURITE_VERSION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.cmg-harness.inputs="${AZURITE_INPUTS}" \
      org.cmg-harness.base="${BASE_IMAGE}" \
      org.cmg-harness.service="azurite"
ENTRYPOINT ["/opt/azurite/node_modules/.bin/azurite-blob"]
# Run with no arguments: on 127.0.0.1:10000 in memory, and never calling home.
CMD ["--blobHost", "127.0.0.1", "--blobPort", "10000", "--inMemoryPersistence", "--disableTelemetry"]
