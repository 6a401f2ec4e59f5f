"""What every connector operation gets."""

from __future__ import annotations

from dataclasses import dataclass

from connector.catalog import StreamCatalog
from connector.settings import Settings
from connector.shards import Shards


@dataclass
class ConnectorContext:
    settings: Settings
    catalog: StreamCatalog
    shards: Shards
