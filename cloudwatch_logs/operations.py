"""The CloudWatch Logs read API (`Logs_20140328.*`, JSON 1.1): DescribeLogGroups, DescribeLogStreams,
GetLogEvents, FilterLogEvents — what `aws logs tail` and `aws logs get-log-events` call."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from aws_json.protocol import Service
from cloudwatch_logs import pages, patterns
from cloudwatch_logs.errors import Logs as E
from cloudwatch_logs.store import Event, LogStore

SERVICE = Service("logs", "2014-03-28", E)
MAX_EVENT_PAGE_BYTES = 1024 * 1024  # GetLogEvents and FilterLogEvents answer at most 1 MB of events


@dataclass
class LogsContext:
    store: LogStore
    region: str
    account_id: str

    def group_arn(self, name: str) -> str:
        return f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{name}"


@SERVICE.operation("DescribeLogGroups")
def describe_log_groups(ctx: LogsContext, req: dict) -> dict:
    names = ctx.store.group_names()
    if "logGroupNamePrefix" in req and "logGroupNamePattern" in req:
        raise E.InvalidParameterException("LogGroup name prefix and LogGroup name pattern are mutually exclusive "
                                          "parameters.")
    names = [n for n in names if n.startswith(req.get("logGroupNamePrefix", ""))]
    pattern = req.get("logGroupNamePattern", "").lower()
    names = [n for n in names if pattern in n.lower()]
    chunk, token = paged(names, req, default_limit=50)
    return with_token({"logGroups": [describe_group(ctx, name) for name in chunk]}, token)


def describe_group(ctx: LogsContext, name: str) -> dict:
    group = ctx.store.group(name)
    stored = sum(s.stored_bytes for s in group.streams.values())
    return {"logGroupName": name, "creationTime": group.creation_time, "metricFilterCount": 0,
            "arn": ctx.group_arn(name) + ":*", "logGroupArn": ctx.group_arn(name), "storedBytes": stored,
            "logGroupClass": "STANDARD"}


@SERVICE.operation("DescribeLogStreams")
def describe_log_streams(ctx: LogsContext, req: dict) -> dict:
    name = group_name(ctx, req)
    group = ctx.store.group(name)
    if group is None:
        raise E.ResourceNotFoundException("The specified log group does not exist.")
    order_by = req.get("orderBy", "LogStreamName")
    prefix = req.get("logStreamNamePrefix")
    if order_by == "LastEventTime" and prefix is not None:
        raise E.InvalidParameterException("Cannot order by LastEventTime with a logStreamNamePrefix.")
    streams = [s for s in list(group.streams.values()) if s.name.startswith(prefix or "")]
    if order_by == "LastEventTime":
        streams.sort(key=lambda s: (s.events[-1].timestamp if s.events else 0, s.name))
    else:
        streams.sort(key=lambda s: s.name)
    if req.get("descending"):
        streams.reverse()
    chunk, token = paged(streams, req, default_limit=50)
    return with_token({"logStreams": [describe_stream(ctx, name, s) for s in chunk]}, token)


def describe_stream(ctx: LogsContext, group: str, stream) -> dict:
    description = {"logStreamName": stream.name, "creationTime": stream.creation_time,
                   "arn": f"{ctx.group_arn(group)}:log-stream:{stream.name}", "storedBytes": 0}
    events = stream.events
    if events:
        description.update(firstEventTimestamp=events[0].timestamp, lastEventTimestamp=events[-1].timestamp,
                           lastIngestionTime=events[-1].ingestion_time)
    return description


@SERVICE.operation("GetLogEvents")
def get_log_events(ctx: LogsContext, req: dict) -> dict:
    streams = group_streams(ctx, req)
    events = streams.get(req["logStreamName"])
    if events is None:
        raise E.ResourceNotFoundException("The specified log stream does not exist.")
    start, end = req.get("startTime", 0), req.get("endTime")
    in_range = [i for i, e in enumerate(events) if e.timestamp >= start and (end is None or e.timestamp < end)]
    token = req.get("nextToken")
    from_head = token.startswith("f") if token else req.get("startFromHead", False)
    chosen = events_window(in_range, token, req.get("limit", 10000), from_head)
    chosen = within_bytes(chosen, events, from_head)
    here = position_of(token) if token else (0 if from_head else len(events))
    first = chosen[0] if chosen else here
    last = chosen[-1] + 1 if chosen else here
    return {"events": [{"timestamp": events[i].timestamp, "message": events[i].message,
                        "ingestionTime": events[i].ingestion_time} for i in chosen],
            "nextForwardToken": f"f/{last:056d}", "nextBackwardToken": f"b/{first:056d}"}


def events_window(indexes: list[int], token: str | None, limit: int, from_head: bool) -> list[int]:
    """Which events a GetLogEvents page holds: `f/N` the first `limit` at or after event N, `b/N` the
    last `limit` before it; without a token, the stream's first or last `limit`."""
    if token is None:
        return indexes[:limit] if from_head else indexes[-limit:]
    position = position_of(token)
    if token.startswith("f"):
        return [i for i in indexes if i >= position][:limit]
    return [i for i in indexes if i < position][-limit:]


def position_of(token: str) -> int:
    direction, _, digits = token.partition("/")
    if direction not in ("f", "b") or not digits.isdigit():
        raise E.InvalidParameterException(f"The specified nextToken is invalid: {token}")
    return int(digits)


def within_bytes(chosen: list[int], events: list[Event], from_head: bool) -> list[int]:
    """Cut a page to 1 MB, keeping the events nearest where it starts reading."""
    order = chosen if from_head else list(reversed(chosen))
    kept, size = [], 0
    for i in order:
        size += len(events[i].message.encode()) + 26  # CloudWatch counts 26 bytes per event
        if size > MAX_EVENT_PAGE_BYTES and kept:
            break
        kept.append(i)
    return kept if from_head else list(reversed(kept))


@SERVICE.operation("FilterLogEvents")
def filter_log_events(ctx: LogsContext, req: dict) -> dict:
    streams = group_streams(ctx, req)
    if "logStreamNames" in req and "logStreamNamePrefix" in req:
        raise E.InvalidParameterException("logStreamNames and logStreamNamePrefix are mutually exclusive "
                                          "parameters.")
    names = req.get("logStreamNames") or [n for n in streams if n.startswith(req.get("logStreamNamePrefix", ""))]
    try:
        pattern = patterns.parse(req.get("filterPattern"))
        after = pages.decode(req.get("nextToken"))
    except (patterns.UnsupportedPattern, pages.BadToken) as exc:
        raise E.InvalidParameterException(str(exc)) from None
    start, end = req.get("startTime", 0), req.get("endTime")
    matching = sorted(
        (event.timestamp, name, i, event)
        for name in names if name in streams
        for i, event in enumerate(streams[name])
        if event.timestamp >= start and (end is None or event.timestamp <= end) and pattern.matches(event.message)
    )
    if after is not None:
        matching = [m for m in matching if [m[0], m[1], m[2]] > after]
    page = matching[: req.get("limit", 10000)]
    result = {"events": [filtered_event(*m) for m in page],
              "searchedLogStreams": [{"logStreamName": n, "searchCompleted": True} for n in names if n in streams]}
    if len(page) < len(matching):
        result["nextToken"] = pages.encode(list(page[-1][:3]))
    return result


def filtered_event(timestamp: int, stream: str, index: int, event: Event) -> dict:
    # unique across the group's streams: `aws logs tail --follow` tells events apart by it
    event_id = f"{timestamp:020d}{zlib.crc32(stream.encode()):010d}{index:026d}"
    return {"logStreamName": stream, "timestamp": timestamp, "message": event.message,
            "ingestionTime": event.ingestion_time, "eventId": event_id}


# -- shared request rules ---------------------------------------------------------------------------


def group_name(ctx: LogsContext, req: dict) -> str:
    """The group a request names, by logGroupName or logGroupIdentifier (a name or an ARN)."""
    name, identifier = req.get("logGroupName"), req.get("logGroupIdentifier")
    if name is not None and identifier is not None:
        raise E.InvalidParameterException("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if name is None and identifier is None:
        raise E.InvalidParameterException("Should provide either name or ARN of the log group.")
    if identifier is not None and identifier.startswith("arn:"):
        return identifier.split(":log-group:", 1)[-1].removesuffix(":*")
    return name or identifier


def group_streams(ctx: LogsContext, req: dict) -> dict[str, list[Event]]:
    streams = ctx.store.snapshot(group_name(ctx, req))
    if streams is None:
        raise E.ResourceNotFoundException("The specified log group does not exist.")
    return streams


def paged(items: list, req: dict, default_limit: int) -> tuple[list, str | None]:
    try:
        return pages.page(items, req.get("nextToken"), req.get("limit", default_limit))
    except pages.BadToken as exc:
        raise E.InvalidParameterException(str(exc)) from None


def with_token(result: dict, token: str | None) -> dict:
    if token is not None:
        result["nextToken"] = token
    return result
