"""`GET /metrics` through the Prometheus client library: the store's series as the families
`catalogue` names, and the parts' own figures (outbox, publisher, Firehose...), which they hand
over as `{"name{label=\\"v\\"}": value}`. Built at scrape time: nothing here runs per request."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from prometheus_client.core import CollectorRegistry, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from monitoring.catalogue import BY_NAME, DEFINITIONS, Definition, label_name
from monitoring.store import MetricStore, Series

__all__ = ["CONTENT_TYPE_LATEST", "exposition"]
SAMPLE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class StoreCollector:
    """The CloudWatch-named series, one family per catalogue entry."""

    def __init__(self, store: MetricStore):
        self.store = store

    def collect(self) -> Iterable[Metric]:
        # every family is declared, with no sample until something is recorded: dashboards and
        # alerts find the name (ThrottledRequests, SystemErrors) before the first event
        families = {d.prometheus: Metric(d.prometheus, d.help, d.kind) for d in DEFINITIONS}
        for series in self.store.all():
            definition = BY_NAME.get((series.namespace, series.name))
            if definition is not None:
                add_series(families[definition.prometheus], definition, series)
        return families.values()


def add_series(family: Metric, definition: Definition, series: Series) -> None:
    labels = {label_name(k): v for k, v in series.dimensions}
    name, scale = definition.prometheus, definition.scale
    if definition.kind == "counter":
        family.add_sample(name + "_total", labels, series.sum * scale)
    elif definition.kind == "summary":
        family.add_sample(name + "_count", labels, series.count)
        family.add_sample(name + "_sum", labels, series.sum * scale)
    else:
        family.add_sample(name, labels, series.last * scale)


class FiguresCollector:
    """The parts' own gauges and counters (a name ending in `_total` is a counter)."""

    def __init__(self, figures: Callable[[], dict[str, float]]):
        self.figures = figures

    def collect(self) -> Iterable[Metric]:
        families: dict[str, Metric] = {}
        for key, value in self.figures().items():
            match = SAMPLE.match(key)
            if match is None:
                continue
            name, labels = match.group(1), dict(LABEL.findall(match.group(2) or ""))
            counter = name.endswith("_total")
            family_name = name.removesuffix("_total") if counter else name
            family = families.get(family_name)
            if family is None:
                family = families[family_name] = Metric(family_name, "", "counter" if counter else "gauge")
            family.add_sample(name, labels, float(value))
        return families.values()


def exposition(store: MetricStore, figures: Callable[[], dict[str, float]]) -> bytes:
    """The Prometheus text format of everything: the client library writes it."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store))
    registry.register(FiguresCollector(figures))
    return generate_latest(registry)
