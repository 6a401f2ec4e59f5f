"""CreateDeliveryStream's configuration: the rules beyond the model (Firehose's own checks), the
stored form of a delivery stream, and DescribeDeliveryStream's view of it.

The stored form keeps AWS's wire shapes (`Destination` is the ExtendedS3DestinationConfiguration
with Firehose's defaults filled in), plus what delivery needs: the DirectPut topic, the
checkpoint group, the source Kinesis stream's ARN.
"""

from __future__ import annotations

from firehose import prefixes
from firehose.errors import Firehose
from firehose.ids import DESTINATION_ID, checkpoint_group, delivery_stream_arn, direct_put_topic

DEFAULT_BUFFERING = {"SizeInMBs": 5, "IntervalInSeconds": 300}
SUPPORTED_COMPRESSION = ("UNCOMPRESSED", "GZIP")
SUPPORTED_PROCESSORS = ("AppendDelimiterToRecord",)
AVRO_DATABASE = "cdc-bridge"  # SchemaConfiguration.DatabaseName that selects our Avro conversion
BYTES_SCHEMA = "bytes"  # SchemaConfiguration.TableName: each record's bytes as they are
OTHER_DESTINATIONS = ("RedshiftDestinationConfiguration", "ElasticsearchDestinationConfiguration",
                      "AmazonopensearchserviceDestinationConfiguration", "SplunkDestinationConfiguration",
                      "HttpEndpointDestinationConfiguration", "AmazonOpenSearchServerlessDestinationConfiguration",
                      "SnowflakeDestinationConfiguration", "IcebergDestinationConfiguration")


def invalid(message: str) -> Exception:
    return Firehose.InvalidArgumentException(message)


def source_type(req: dict) -> str:
    kind = req.get("DeliveryStreamType", "DirectPut")
    if kind not in ("DirectPut", "KinesisStreamAsSource"):
        raise invalid(f"DeliveryStreamType {kind} is not supported: use DirectPut or KinesisStreamAsSource.")
    if kind == "KinesisStreamAsSource" and not req.get("KinesisStreamSourceConfiguration"):
        raise invalid("KinesisStreamSourceConfiguration is required when DeliveryStreamType is KinesisStreamAsSource.")
    if kind == "DirectPut" and req.get("KinesisStreamSourceConfiguration"):
        raise invalid("KinesisStreamSourceConfiguration is only allowed when DeliveryStreamType is "
                      "KinesisStreamAsSource.")
    return kind


def destination(req: dict) -> dict:
    """The S3 destination with Firehose's defaults, or InvalidArgumentException."""
    others = [name for name in OTHER_DESTINATIONS if req.get(name)]
    if others:
        raise invalid(f"{others[0]} is not supported here: use ExtendedS3DestinationConfiguration.")
    given = [name for name in ("ExtendedS3DestinationConfiguration", "S3DestinationConfiguration") if req.get(name)]
    if len(given) != 1:
        raise invalid("Exactly one destination configuration is required: ExtendedS3DestinationConfiguration.")
    config = dict(req[given[0]])
    check_buffering(config.get("BufferingHints"))
    config["BufferingHints"] = {**DEFAULT_BUFFERING, **(config.get("BufferingHints") or {})}
    config.setdefault("CompressionFormat", "UNCOMPRESSED")
    if config["CompressionFormat"] not in SUPPORTED_COMPRESSION:
        raise invalid(f"CompressionFormat {config['CompressionFormat']} is not supported here: "
                      f"use {' or '.join(SUPPORTED_COMPRESSION)}.")
    try:
        prefixes.validate(config.get("Prefix"), config.get("ErrorOutputPrefix"))
    except prefixes.PrefixError as exc:
        raise invalid(str(exc)) from None
    check_processing(config.get("ProcessingConfiguration"))
    check_conversion(config)
    extension = config.get("FileExtension")
    if extension is not None and not extension.startswith("."):
        raise invalid("FileExtension must start with a period (.).")
    config.setdefault("EncryptionConfiguration", {"NoEncryptionConfig": "NoEncryption"})
    config.setdefault("S3BackupMode", "Disabled")
    return config


def check_buffering(hints: dict | None) -> None:
    if hints and ("SizeInMBs" in hints) != ("IntervalInSeconds" in hints):
        raise invalid("BufferingHints must specify both SizeInMBs and IntervalInSeconds, or neither.")


def check_processing(config: dict | None) -> None:
    if not config or not config.get("Enabled", False):
        return
    for processor in config.get("Processors") or ():
        if processor["Type"] not in SUPPORTED_PROCESSORS:
            raise invalid(f"Processor type {processor['Type']} is not supported here: "
                          f"use {', '.join(SUPPORTED_PROCESSORS)}.")
        for parameter in processor.get("Parameters") or ():
            if parameter["ParameterName"] != "Delimiter":
                raise invalid(f"Parameter {parameter['ParameterName']} is not valid for processor "
                              f"{processor['Type']}.")


def check_conversion(config: dict) -> None:
    conversion = config.get("DataFormatConversionConfiguration")
    if not conversion or not conversion.get("Enabled", True):
        return
    schema = conversion.get("SchemaConfiguration") or {}
    if schema.get("DatabaseName") != AVRO_DATABASE or not schema.get("TableName"):
        raise invalid(f"DataFormatConversionConfiguration: only Avro output is supported here: SchemaConfiguration "
                      f"needs DatabaseName '{AVRO_DATABASE}' and TableName '{BYTES_SCHEMA}' or a schema registry "
                      "subject.")
    if conversion.get("OutputFormatConfiguration") or conversion.get("InputFormatConfiguration"):
        raise invalid("DataFormatConversionConfiguration: Parquet and ORC output are not supported here; leave "
                      "InputFormatConfiguration and OutputFormatConfiguration out for Avro.")
    if config["CompressionFormat"] != "UNCOMPRESSED":
        raise invalid("CompressionFormat must be UNCOMPRESSED when data format conversion is enabled.")


def delimiter(config: dict) -> bytes:
    """What AppendDelimiterToRecord appends to each record: a newline, or its Delimiter parameter."""
    processing = config.get("ProcessingConfiguration") or {}
    if not processing.get("Enabled", False):
        return b""
    for processor in processing.get("Processors") or ():
        if processor["Type"] == "AppendDelimiterToRecord":
            for parameter in processor.get("Parameters") or ():
                return parameter["ParameterValue"].encode().decode("unicode_escape").encode()
            return b"\n"
    return b""


def avro_schema_name(config: dict) -> str | None:
    """The schema of Avro output (BYTES_SCHEMA or a registry subject), None: records as they are."""
    conversion = config.get("DataFormatConversionConfiguration") or {}
    if not conversion.get("Enabled", True) or not conversion:
        return None
    return conversion["SchemaConfiguration"]["TableName"]


def new_stream(req: dict, region: str, account_id: str, now_ms: int, source: dict | None, instance: str = "") -> dict:
    name = req["DeliveryStreamName"]
    kind = source_type(req)
    stream = {
        "DeliveryStreamName": name,
        "DeliveryStreamARN": delivery_stream_arn(region, account_id, name),
        "DeliveryStreamStatus": "CREATING",
        "DeliveryStreamType": kind,
        "VersionId": "1",
        "CreateTimestamp": now_ms / 1000,
        "CreatedMs": now_ms,
        "Tags": list(req.get("Tags") or ()),
        "Group": checkpoint_group(name, now_ms),
        "Destination": destination(req),
        "Instance": instance,  # the instance that delivers it (docs/firehose.md, "Several instances")
    }
    if kind == "DirectPut":
        stream["Topic"] = direct_put_topic(name, now_ms)
    else:
        stream["Source"] = {"KinesisStreamARN": source["KinesisStreamARN"], "RoleARN": source["RoleARN"],
                            "DeliveryStartTimestamp": now_ms / 1000}
    return stream


def describe(stream: dict) -> dict:
    destination_config = {k: v for k, v in stream["Destination"].items() if k != "S3BackupConfiguration"}
    s3 = {k: destination_config[k] for k in ("RoleARN", "BucketARN", "Prefix", "ErrorOutputPrefix", "BufferingHints",
                                             "CompressionFormat", "EncryptionConfiguration") if k in destination_config}
    description = {
        "DeliveryStreamName": stream["DeliveryStreamName"],
        "DeliveryStreamARN": stream["DeliveryStreamARN"],
        "DeliveryStreamStatus": stream["DeliveryStreamStatus"],
        "DeliveryStreamEncryptionConfiguration": {"Status": "DISABLED"},
        "DeliveryStreamType": stream["DeliveryStreamType"],
        "VersionId": stream["VersionId"],
        "CreateTimestamp": stream["CreateTimestamp"],
        "Destinations": [{"DestinationId": DESTINATION_ID, "S3DestinationDescription": s3,
                          "ExtendedS3DestinationDescription": destination_config}],
        "HasMoreDestinations": False,
    }
    if "Source" in stream:
        description["Source"] = {"KinesisStreamSourceDescription": stream["Source"]}
    return description
