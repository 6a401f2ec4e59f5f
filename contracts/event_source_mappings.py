"""The contract between the Lambda API, which keeps event source mappings, and the pollers that run
them (`event_sources/`): two compacted topics, so that any instance serves and runs every mapping and
a restart resumes where the last poller stopped.

MAPPINGS_TOPIC, key `mapping/<UUID>`: the mapping as Lambda's EventSourceMappingConfiguration (wire
form) plus our own `_Revision` (raised by every change) and `_CreatedMs`; None once deleted.
Key `status/<UUID>`: what a poller reports, `{"Revision", "State", "StateTransitionReason",
"LastProcessingResult"}`: the settled state (Enabled, Disabled) of that revision. The API answers the
mapping's own transitional state (Creating, Updating, Enabling, Disabling, Deleting) until a status of
its revision arrives. Two keys, so the API and the pollers never overwrite each other's writes.

CHECKPOINTS_TOPIC, key `<UUID>/<topic>/<partition>`: `{"Offset": n}`, the next record of that shard
the mapping has not finished with (every record before it was handed to the function successfully,
filtered out, or sent to the on-failure destination); with tumbling windows also
`"Window": {"Window": [start ms, end ms], "State": {...}}`, the open window and its state.

LEASES_TOPIC, key `member/<instance>`: an instance's heartbeat, `{"Until": epoch ms, "Mappings":
{UUID: since}}`, the mappings it is ready to deliver and the lease-topic offset of its first offer of
each (null: this record's own offset). The live instance with the lowest offer delivers a mapping
(event_sources/leases.py); a tombstone when an instance stops.
"""

from __future__ import annotations

MAPPINGS_TOPIC = "_cdc_bridge_lambda_mappings"
CHECKPOINTS_TOPIC = "_cdc_bridge_lambda_checkpoints"
LEASES_TOPIC = "_cdc_bridge_lambda_leases"
SETTLED = {"Enabled", "Disabled"}


def mapping_key(uuid: str) -> bytes:
    return f"mapping/{uuid}".encode()


def status_key(uuid: str) -> bytes:
    return f"status/{uuid}".encode()


def checkpoint_key(uuid: str, topic: str, partition: int) -> bytes:
    return f"{uuid}/{topic}/{partition}".encode()


def member_key(instance: str) -> bytes:
    return f"member/{instance}".encode()
