"""The `cdc-bridge` command line: `up`, `table-api`, `connector`, `broker`, `kafka fetch`, `tail`.

Every option also reads an environment variable (shown in --help); the command line wins.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from cdc_bridge.logs import configure_logging

log = logging.getLogger("cdc_bridge")
DEFAULT_TAIL_ENDPOINT = "http://127.0.0.1:8000"  # `up` on its default --port


class EnvDefault(argparse.Action):
    """An option whose default comes from an environment variable."""

    def __init__(self, envvar: str, default=None, **kwargs):
        default = os.environ.get(envvar) or default
        kwargs["help"] = f"{kwargs.get('help', '')} [env: {envvar}]" + (
            f" (default: {default})" if default is not None else ""
        )
        super().__init__(default=default, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)


class EnvAppend(argparse.Action):
    """A repeatable option whose first values come from an environment variable, one per line;
    the command line's come after them (and so win where a later value overrides an earlier)."""

    def __init__(self, envvar: str, **kwargs):
        default = [line for line in os.environ.get(envvar, "").splitlines() if line.strip()]
        kwargs["help"] = f"{kwargs.get('help', '')} [env: {envvar}, one per line]"
        super().__init__(default=default, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, [*getattr(namespace, self.dest), values])


def option(parser: argparse.ArgumentParser, flag: str, envvar: str, **kwargs) -> None:
    parser.add_argument(flag, action=EnvDefault, envvar=envvar, **kwargs)


def switch(parser: argparse.ArgumentParser, flag: str, envvar: str, help: str) -> None:
    """An on/off option, on when given or when `envvar` is set to anything but "", 0, false or no."""
    on = os.environ.get(envvar, "").lower() not in ("", "0", "false", "no")
    parser.add_argument(flag, action="store_true", default=on, help=f"{help} [env: {envvar}]")


def add_common(parser: argparse.ArgumentParser) -> None:
    option(parser, "--log-level", "CDC_BRIDGE_LOG_LEVEL", default="WARNING",
           choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log level; logs are JSON lines on stderr")


def add_listener(parser: argparse.ArgumentParser) -> None:
    option(parser, "--host", "CDC_BRIDGE_HOST", default="127.0.0.1", help="address to listen on")
    option(parser, "--port", "CDC_BRIDGE_PORT", default=8000, type=int,
           help="the one port that serves every AWS API of the project, /health and /metrics")
    option(parser, "--region", "CDC_BRIDGE_REGION", default="us-east-1", help="the AWS region shown in every ARN")
    option(parser, "--tls-cert", "CDC_BRIDGE_TLS_CERT",
           help="serve HTTPS with this certificate (PEM, the chain after the server's certificate); needs --tls-key")
    option(parser, "--tls-key", "CDC_BRIDGE_TLS_KEY", help="the private key (PEM) of --tls-cert")
    option(parser, "--credentials-file", "CDC_BRIDGE_CREDENTIALS_FILE",
           help="users, keys and IAM policies (JSON, see the README's Security section): every AWS call must then be "
                "signed (SigV4) by one of its keys and allowed by its user's policies "
                "(unset: <data-dir>/credentials.json when it exists, else any caller is accepted)")
    switch(parser, "--allow-anonymous", "CDC_BRIDGE_ALLOW_ANONYMOUS",
           help="serve a non-loopback --host without credentials (anyone who reaches the port may do anything)")
    option(parser, "--metrics-retention-hours", "CDC_BRIDGE_METRICS_RETENTION_HOURS", default=3.0, type=float,
           help="how long the CloudWatch API keeps the 1-minute figures /metrics also shows (in memory)")
    switch(parser, "--http-basic-auth", "CDC_BRIDGE_HTTP_BASIC_AUTH",
           help="with --credentials-file: /metrics and the schema registry's routes need HTTP basic auth (an access "
                "key id and its secret: Prometheus and registry clients cannot sign); /health stays open")


def add_kafka_client(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kafka-config", action=EnvAppend, envvar="CDC_BRIDGE_KAFKA_CONFIG", metavar="KEY=VALUE",
                        help="a librdkafka setting for every Kafka client (e.g. security.protocol=SASL_SSL, "
                             "sasl.username=...), repeatable; wins over --kafka-config-file")
    option(parser, "--kafka-config-file", "CDC_BRIDGE_KAFKA_CONFIG_FILE", metavar="PATH",
           help="librdkafka settings for every Kafka client from a Java properties file (a managed Kafka "
                "service's client.properties)")


def add_tables(parser: argparse.ArgumentParser) -> None:
    option(parser, "--data-dir", "CDC_BRIDGE_DATA_DIR", default="./data", help="where SQLite and anything else durable lives")
    option(parser, "--account-id", "CDC_BRIDGE_ACCOUNT_ID", default="000000000000", help="the AWS account id shown in every ARN")
    option(parser, "--schema-registry-url", "SCHEMA_REGISTRY_URL",
           help="register event schemas in this Confluent-compatible registry; unset: serve one on --port")
    option(parser, "--stream-shards", "CDC_BRIDGE_STREAM_SHARDS", default=4, type=int,
           help="shards (Kafka partitions) of each new DynamoDB stream")
    option(parser, "--stream-retention-hours", "CDC_BRIDGE_STREAM_RETENTION_HOURS", default=24.0, type=float,
           help="retention of each new stream: its topic's retention.ms, and the exact trim on read")
    switch(parser, "--enforce-capacity", "CDC_BRIDGE_ENFORCE_CAPACITY",
           help="throttle like DynamoDB: provisioned tables and GSIs get token buckets of their capacity (300 s of "
                "burst, starting empty), on-demand tables a ceiling; beyond it ProvisionedThroughputExceededException")
    option(parser, "--on-demand-read-limit", "CDC_BRIDGE_ON_DEMAND_READ_LIMIT", default=40000, type=int,
           help="with --enforce-capacity: read request units per second an on-demand table may use (DynamoDB's "
                "default per-table quota), unless its OnDemandThroughput sets a lower maximum")
    option(parser, "--on-demand-write-limit", "CDC_BRIDGE_ON_DEMAND_WRITE_LIMIT", default=40000, type=int,
           help="with --enforce-capacity: write request units per second an on-demand table may use (DynamoDB's "
                "default per-table quota), unless its OnDemandThroughput sets a lower maximum")
    option(parser, "--ttl-sweep-interval", "CDC_BRIDGE_TTL_SWEEP_INTERVAL", default=30.0, type=float,
           help="seconds between two passes of the time-to-live sweeper, which deletes expired items; a TTL "
                "change shows ENABLING/DISABLING until the next pass")
    option(parser, "--ttl-cooldown-seconds", "CDC_BRIDGE_TTL_COOLDOWN_SECONDS", default=3600.0, type=float,
           help="after UpdateTimeToLive, the table's TTL setting cannot change again for this long "
                "(DynamoDB: one hour)")


def add_connector(parser: argparse.ArgumentParser) -> None:
    option(parser, "--iterator-secret", "CDC_BRIDGE_ITERATOR_SECRET",
           help="HMAC key of shard iterators; connector instances that share it accept each other's iterators "
                "(unset: the key in <data-dir>/iterator.key, made on the first start, so iterators survive a restart)")
    option(parser, "--streams-iterator-ttl-seconds", "CDC_BRIDGE_STREAMS_ITERATOR_TTL_SECONDS", default=900.0, type=float,
           help="lifetime of a DynamoDB Streams shard iterator")
    option(parser, "--kinesis-iterator-ttl-seconds", "CDC_BRIDGE_KINESIS_ITERATOR_TTL_SECONDS", default=300.0, type=float,
           help="lifetime of a Kinesis shard iterator (AWS: 5 minutes)")
    option(parser, "--kinesis-min-retention-hours", "CDC_BRIDGE_KINESIS_MIN_RETENTION_HOURS", default=24, type=int,
           help="the shortest Kinesis RetentionPeriodHours accepted (AWS: 24); lower it to try the retention trim")
    option(parser, "--kinesis-shard-limit", "CDC_BRIDGE_KINESIS_SHARD_LIMIT", default=500, type=int,
           help="open Kinesis shards (Kafka partitions) of all streams together, as AWS's account shard limit")
    option(parser, "--kinesis-grace-seconds", "CDC_BRIDGE_KINESIS_GRACE_SECONDS", default=2.0, type=float,
           help="how long a Kinesis stream change waits for every connector instance to see it before acting on "
                "Kafka: the old shards' ends are fixed this long after UpdateShardCount, topics deleted this long "
                "after DeleteStream")


def add_firehose(parser: argparse.ArgumentParser) -> None:
    option(parser, "--archive-dir", "CDC_BRIDGE_ARCHIVE_DIR",
           help="where Firehose delivery streams write their objects, a folder per bucket, when no --s3-endpoint-url "
                "is given (default: <data-dir>/archive)")
    option(parser, "--s3-endpoint-url", "CDC_BRIDGE_S3_ENDPOINT_URL",
           help="an S3-compatible endpoint Firehose delivery streams write their objects to (path-style PUT, SigV4)")
    option(parser, "--s3-access-key-id", "CDC_BRIDGE_S3_ACCESS_KEY_ID", help="the access key of --s3-endpoint-url")
    option(parser, "--s3-secret-access-key", "CDC_BRIDGE_S3_SECRET_ACCESS_KEY",
           help="the secret key of --s3-endpoint-url")
    option(parser, "--s3-region", "CDC_BRIDGE_S3_REGION", help="the region S3 requests are signed for (default: --region)")


def add_broker_choice(parser: argparse.ArgumentParser) -> None:
    option(parser, "--broker", "CDC_BRIDGE_BROKER", default="auto", choices=["auto", "kafka", "memory"],
           help="the broker to run when no Kafka cluster is given: kafka (Apache Kafka itself, from its jars, "
                "data under <data-dir>/kafka/; needs Java 17+, and Maven the first time to fetch the jars), "
                "memory (the embedded broker: nothing survives a restart), auto (kafka when Java 17+ is there "
                "and the jars are cached or Maven can fetch them, else memory; `up` tries Docker before memory)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cdc-bridge", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="run everything a laptop needs on one port: broker, table service, connector",
                             description="Run the broker (Kafka from KAFKA_BOOTSTRAP_SERVERS, else the --broker "
                             "choice: Apache Kafka, or the embedded broker) and the table service in the foreground. "
                             "Ctrl-C stops all of it.")
    add_listener(up)
    add_tables(up)
    option(up, "--kafka-bootstrap-servers", "KAFKA_BOOTSTRAP_SERVERS",
           help="use this Kafka cluster instead of starting one")
    add_kafka_client(up)
    add_broker_choice(up)
    add_connector(up)
    add_firehose(up)
    add_common(up)

    table_api = commands.add_parser("table-api", help="run the table service alone against a given Kafka",
                                    description="Run the DynamoDB table service alone against a given Kafka cluster.")
    add_listener(table_api)
    add_tables(table_api)
    option(table_api, "--kafka-bootstrap-servers", "KAFKA_BOOTSTRAP_SERVERS", required=False,
           help="the Kafka cluster change events go to")
    add_kafka_client(table_api)
    add_common(table_api)

    connector = commands.add_parser("connector", help="run the connector alone (DynamoDB Streams and Kinesis APIs) against a given Kafka",
                                    description="Serve the DynamoDB Streams API from the Kafka topics the table service writes, "
                                    "and the Kinesis Data Streams API over Kafka topics.")
    add_listener(connector)
    option(connector, "--kafka-bootstrap-servers", "KAFKA_BOOTSTRAP_SERVERS", help="the Kafka cluster to read")
    add_kafka_client(connector)
    option(connector, "--account-id", "CDC_BRIDGE_ACCOUNT_ID", default="000000000000",
           help="the AWS account id shown in Kinesis stream ARNs")
    option(connector, "--data-dir", "CDC_BRIDGE_DATA_DIR", default="./data",
           help="where the connector keeps its durable state: the iterator key (iterator.key) and the Kinesis "
                "stream definitions (kinesis-streams.json), restored from it when the broker lost them")
    add_connector(connector)
    add_common(connector)

    broker = commands.add_parser("broker", help="run a broker alone: Apache Kafka or the embedded one",
                                 description="Run a broker in the foreground (Apache Kafka with its data under "
                                 "<data-dir>/kafka/, or the embedded in-memory broker) and print its bootstrap address.")
    option(broker, "--host", "CDC_BRIDGE_BROKER_HOST", default="127.0.0.1", help="address to listen on")
    option(broker, "--port", "CDC_BRIDGE_BROKER_PORT", default=9092, type=int, help="port to listen on (0: a free one)")
    add_broker_choice(broker)
    option(broker, "--data-dir", "CDC_BRIDGE_DATA_DIR", default="./data",
           help="where Apache Kafka keeps its data (in kafka/ below it); unused by the memory broker")
    add_common(broker)

    kafka = commands.add_parser("kafka", help="provision Apache Kafka for --broker kafka",
                                description="Manage the Apache Kafka that `up --broker kafka` runs.")
    kafka_commands = kafka.add_subparsers(dest="kafka_command", required=True, metavar="KAFKA_COMMAND")
    fetch = kafka_commands.add_parser(
        "fetch", help="fetch the pinned Apache Kafka broker's jars with Maven into the cache (once)",
        description="Resolve the pinned Apache Kafka broker and its run-time dependencies from Maven Central "
                    "with `mvn` into the cache folder. Returns at once when they are already there.")
    option(fetch, "--cache-dir", "CDC_BRIDGE_CACHE", help="the cache folder (default: ~/.cache/cdc-bridge)")
    add_common(fetch)
    add_tail(commands)
    return parser


def add_tail(commands) -> None:
    tail = commands.add_parser(
        "tail", help="print a table's change events, or a stream's records, as JSON lines as they arrive",
        description="Follow every shard of a DynamoDB stream (a table's latest, or a stream ARN) or a Kinesis stream "
                    "(name or ARN) through the public APIs and print each record as a JSON line, as the API returns "
                    "it. Progress goes to stderr while a backlog is caught up. Ctrl-C ends it.")
    tail.add_argument("target", metavar="TABLE|STREAM-ARN|KINESIS-STREAM",
                      help="a table name (its latest stream), a DynamoDB stream ARN, a Kinesis stream name or ARN")
    option(tail, "--endpoint-url", "AWS_ENDPOINT_URL", default=DEFAULT_TAIL_ENDPOINT,
           help="the endpoint serving DynamoDB, DynamoDB Streams and Kinesis")
    option(tail, "--region", "AWS_DEFAULT_REGION", help="the region of the clients (default: boto3's, else us-east-1)")
    tail.add_argument("--from", dest="start", choices=["latest", "trim-horizon"], default="latest",
                      help="start after the newest record (latest, default) or at the oldest one kept (trim-horizon); "
                           "shards that appear later are always read from their first record")
    tail.add_argument("--page-size", type=int, default=1000, metavar="N",
                      help="records per GetRecords call (DynamoDB Streams: at most 1000)")
    add_common(tail)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    if args.command == "broker":
        return run_broker(args)
    if args.command == "kafka":
        return run_kafka(args)
    if args.command == "tail":
        from cdc_bridge.tail import run

        return run(args)
    return run_server(args)


def run_broker(args) -> int:
    from cdc_bridge.broker import decide, local

    stop = threading.Event()
    # Both set here, as uvicorn does for `up`: a process started from a background job inherits
    # SIGINT ignored, and Python then never raises KeyboardInterrupt (Ctrl-C would be lost).
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    kind, reason = decide(args.broker)
    with local(kind, reason, data_dir=Path(args.data_dir), port=int(args.port), host=args.host) as broker:
        print(f"broker ready: {broker.bootstrap_servers}", flush=True)
        while not stop.wait(1.0):  # a timed wait: the handler runs in the main thread between waits
            pass
    return 0


def run_kafka(args) -> int:
    from cdc_bridge import apache_kafka

    if args.cache_dir:
        os.environ["CDC_BRIDGE_CACHE"] = args.cache_dir
    try:
        home = apache_kafka.fetch()
    except apache_kafka.Missing as exc:
        print(f"cdc-bridge: {exc}", file=sys.stderr, flush=True)
        return 2
    except RuntimeError as exc:
        print(f"cdc-bridge: {exc}", file=sys.stderr, flush=True)
        return 1
    print(home, flush=True)
    return 0


SWITCH_INTERVAL_S = 0.001


def run_server(args) -> int:
    from cdc_bridge import data_dir

    problem = transport_problem(args)
    if problem:
        print(f"cdc-bridge: {problem}", file=sys.stderr, flush=True)
        return 2
    try:  # before any part opens anything in it
        data_dir.prepare(Path(args.data_dir))
    except data_dir.DataDirError as exc:
        print(f"cdc-bridge: {exc}", file=sys.stderr, flush=True)
        return 1
    broker = early_broker(args)  # first: Apache Kafka's JVM starts while the imports below run
    import uvicorn

    from aws_json.http_protocol import JoinedWritesProtocol
    from aws_json.screen import Screen
    from aws_json.server import create_app
    from monitoring.store import MetricStore

    # Several threads share the GIL here (the HTTP loop, request workers, the publisher, Kafka
    # pollers): with 1 ms instead of CPython's 5 ms a thread woken by a commit or a fetch runs
    # sooner (DynamoDB Streams visibility p50 -0.3 to -0.6 ms measured, GetRecords polls per
    # change 4.9 -> 3.5).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        gate = access_gate(args)
    except ValueError as exc:
        print(f"cdc-bridge: {exc}", file=sys.stderr, flush=True)
        if broker is not None:
            broker.stop()
        return 2
    # Browser guard and body limit before anything else reads the request (aws_json/screen.py).
    store = MetricStore(retention_s=float(args.metrics_retention_hours) * 3600)
    app = Screen(create_app(parts_of(args, broker, gate), gate, store), listen_host=args.host)
    print(f"cdc-bridge listening on {public_url(args)} (health: /health)", file=sys.stderr, flush=True)
    # proxy_headers off: no X-Forwarded-* rewriting middleware around every request (nothing here
    # reads the client's address); no `server` header (AWS sends none either); one write per response.
    uvicorn.run(app, host=args.host, port=int(args.port), log_level="warning", access_log=False,
                lifespan="on", timeout_graceful_shutdown=5, proxy_headers=False, server_header=False,
                http=JoinedWritesProtocol, ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key)
    return 0


def public_url(args) -> str:
    return f"{'https' if args.tls_cert else 'http'}://{args.host}:{args.port}"


def transport_problem(args) -> str | None:
    """What is wrong with the TLS and Kafka client options (None: nothing), said before anything
    starts; the Kafka settings are then in force for every client of the process."""
    if bool(args.tls_cert) != bool(args.tls_key):
        return "--tls-cert and --tls-key go together"
    for flag, path in (("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key)):
        if path and not Path(path).is_file():
            return f"{flag} {path}: no such file"
    if args.tls_cert:
        problem = tls_problem(args.tls_cert, args.tls_key)
        if problem:
            return problem
    return kafka_config_problem(args)


def tls_problem(cert: str, key: str) -> str | None:
    import ssl

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        return f"--tls-cert/--tls-key: cannot load the certificate and key: {exc}"
    return None


def kafka_config_problem(args) -> str | None:
    from kafka_io.client import use_connection_config
    from kafka_io.properties import BadSetting, load

    try:
        use_connection_config(load(args.kafka_config, args.kafka_config_file))
    except OSError as exc:
        return f"--kafka-config-file: {exc}"
    except BadSetting as exc:
        return f"--kafka-config {exc}"
    except ValueError as exc:
        return f"Kafka client settings (--kafka-config, --kafka-config-file): {exc}"
    return None


def access_gate(args):
    """Who may call: the credentials file's users, or anyone on a loopback address only."""
    from aws_json.auth import Gate
    from aws_json.credentials import load

    path = args.credentials_file or (Path(args.data_dir) / "credentials.json" if hasattr(args, "data_dir") else None)
    if path is not None and (args.credentials_file or Path(path).exists()):
        credentials = load(Path(path), args.account_id)
        print(f"cdc-bridge: every AWS call must be signed by a key of {path} "
              f"({len(credentials.principals)} users)", file=sys.stderr, flush=True)
        return Gate(credentials, args.region, basic_auth=args.http_basic_auth, account_id=args.account_id)
    if args.http_basic_auth:
        raise ValueError("--http-basic-auth checks the keys of --credentials-file: give one")
    from aws_json.browser_guard import is_loopback

    if not is_loopback(args.host) and not args.allow_anonymous:
        raise ValueError(f"refusing to serve {args.host} without credentials: anyone who reaches the port could read "
                         "and change every table. Give --credentials-file (see the README's Security section), or "
                         "--allow-anonymous if something else guards the port.")
    return Gate(None, args.region, account_id=args.account_id)


def early_broker(args):
    """`up`'s broker part, already provisioning (see BrokerPart.begin); None for the other commands."""
    if args.command != "up":
        return None
    from cdc_bridge.parts import BrokerPart

    broker = BrokerPart(args.kafka_bootstrap_servers, args.broker, Path(args.data_dir))
    broker.begin()
    return broker


def parts_of(args, broker=None, gate=None) -> list:
    """What each command runs: `up` all parts, the others one each."""
    from aws_json.auth import Gate
    from cdc_bridge.parts import BrokerPart
    from connector.app import Connector
    from connector.settings import Settings as ConnectorSettings
    from table_api.app import TableApi
    from cdc_bridge.data_dir import instance_id
    from table_api.settings import Settings

    if args.command == "up" and broker is None:
        broker = BrokerPart(args.kafka_bootstrap_servers, args.broker, Path(args.data_dir))
    parts: list = [broker] if args.command == "up" else []
    if args.command in ("up", "table-api"):
        parts.append(TableApi(Settings(
            data_dir=Path(args.data_dir),
            region=args.region,
            account_id=args.account_id,
            kafka_bootstrap_servers=args.kafka_bootstrap_servers,
            public_url=public_url(args),
            schema_registry_url=args.schema_registry_url,
            stream_shards=int(args.stream_shards),
            stream_retention_hours=float(args.stream_retention_hours),
            enforce_capacity=args.enforce_capacity,
            on_demand_read_limit=int(args.on_demand_read_limit),
            on_demand_write_limit=int(args.on_demand_write_limit),
            ttl_sweep_interval_s=float(args.ttl_sweep_interval),
            ttl_cooldown_s=float(args.ttl_cooldown_seconds),
            instance_id=instance_id(Path(args.data_dir)),
        )))
    if args.command in ("up", "connector"):
        parts.append(Connector(ConnectorSettings(
            region=args.region,
            kafka_bootstrap_servers=args.kafka_bootstrap_servers,
            data_dir=Path(args.data_dir),  # `up`: its own data dir, shared with the table service
            iterator_secret=args.iterator_secret.encode() if args.iterator_secret else None,
            streams_iterator_ttl_s=float(args.streams_iterator_ttl_seconds),
            account_id=args.account_id,
            kinesis_iterator_ttl_s=float(args.kinesis_iterator_ttl_seconds),
            kinesis_min_retention_hours=int(args.kinesis_min_retention_hours),
            kinesis_shard_limit=int(args.kinesis_shard_limit),
            kinesis_grace_s=float(args.kinesis_grace_seconds),
        )))
    from cloudwatch.app import CloudWatchPart

    parts.append(CloudWatchPart())  # the CloudWatch API over the figures every part records (docs/monitoring.md)
    if args.command == "up":
        from console.app import Console

        parts.append(firehose_part(args))
        parts += [*lambda_parts(args, gate), Console(gate or Gate(None, args.region))]
    return parts


def firehose_part(args):
    """The Firehose-style delivery streams (docs/firehose.md): in `up`, next to the Kinesis streams they read."""
    from cdc_bridge.data_dir import instance_id
    from firehose.app import FirehosePart
    from firehose.settings import Settings as FirehoseSettings

    return FirehosePart(FirehoseSettings(
        region=args.region,
        account_id=args.account_id,
        archive_dir=Path(args.archive_dir) if args.archive_dir else Path(args.data_dir) / "archive",
        kafka_bootstrap_servers=args.kafka_bootstrap_servers,
        s3_endpoint_url=args.s3_endpoint_url,
        s3_access_key_id=args.s3_access_key_id,
        s3_secret_access_key=args.s3_secret_access_key,
        s3_region=args.s3_region,
        schema_registry_url=args.schema_registry_url,
        instance_id=instance_id(Path(args.data_dir)),
        data_dir=Path(args.data_dir),
    ))


def lambda_parts(args, gate=None) -> list:
    """CloudWatch Logs, then Lambda (its workers log there), then the event source mappings' pollers
    (they read the connector's streams and run Lambda's functions): only in `up`, where the table
    service and the streams are on the same port for a function's SDK calls (docs/lambda.md)."""
    from cloudwatch_logs.app import CloudWatchLogs
    from event_sources.part import EventSources
    from lambda_api.app import LambdaApi
    from lambda_api.settings import Settings as LambdaSettings

    loopback = "127.0.0.1" if args.host in ("0.0.0.0", "::", "[::]") else args.host  # a handler cannot call 0.0.0.0
    endpoint = f"{'https' if args.tls_cert else 'http'}://{loopback}:{args.port}"
    # Absolute: a worker runs in its function's folder, so a relative task root (the default
    # --data-dir is ./data) would name a folder below it and the handler's module would not be found.
    data_dir = Path(args.data_dir).absolute()
    return [CloudWatchLogs(data_dir, args.region, args.account_id),
            LambdaApi(LambdaSettings(data_dir, args.region, args.account_id, endpoint),
                      **({"role_credentials": gate.role_environment} if gate is not None else {})),
            EventSources(data_dir, args.region)]


if __name__ == "__main__":
    sys.exit(main())
