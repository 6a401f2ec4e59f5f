"""Secondary indexes: a table's GSIs and LSIs as value types, and the entry an item gives each.

An index is defined by its entry in the table's description (DynamoDB's wire shape). An item is
in an index exactly when it has every key attribute of the index (sparse indexes); its entry is
the index key, encoded like table keys (`keys.encode_key`, so an index Query is one range read),
the table's own key (ties in the index are in table-key order, as on DynamoDB) and the projected
attributes. An index key attribute of another type than its definition is refused, so a write
never leaves an item out of an index by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from table_api.errors import ValidationException
from table_api.keys import INVALID, KeySchema, encode_key
from table_api.values import Item, item_size, type_of

EMPTY_INDEX_KEY = ("One or more parameter values are not valid. A value specified for a secondary index key is not "
                   "supported. The AttributeValue for a key attribute cannot contain an empty {} value. "
                   "IndexName: {}, IndexKey: {}")


@dataclass(frozen=True)
class Entry:
    """What one item puts into one index: encoded index key and the item's projection."""

    pk: bytes
    sk: bytes
    item: Item
    known_size: int | None = None  # the projection's size when the caller has it already

    @cached_property
    def size(self) -> int:
        """The projection's size as DynamoDB counts it (computed once, when needed)."""
        return item_size(self.item) if self.known_size is None else self.known_size


@dataclass(frozen=True)
class SecondaryIndex:
    name: str
    is_global: bool
    key_schema: KeySchema
    projection_type: str  # ALL, KEYS_ONLY or INCLUDE
    projected: frozenset[str]  # for KEYS_ONLY / INCLUDE: the attributes an entry keeps
    backfilling: bool = False  # created by UpdateTable and still being filled

    @classmethod
    def from_wire(cls, wire: dict, definitions: list[dict], table_schema: KeySchema, is_global: bool,
                  backfilling: bool = False) -> SecondaryIndex:
        schema = KeySchema.from_wire(wire["KeySchema"], definitions)
        projection = wire.get("Projection", {})
        kept = frozenset([*table_schema.names, *schema.names, *projection.get("NonKeyAttributes", ())])
        return cls(wire["IndexName"], is_global, schema, projection.get("ProjectionType", "ALL"), kept, backfilling)

    @property
    def kind(self) -> str:
        """The ConsumedCapacity / description member this index is listed under."""
        return "GlobalSecondaryIndexes" if self.is_global else "LocalSecondaryIndexes"

    @property
    def projects_all(self) -> bool:
        return self.projection_type == "ALL"

    def check(self, item: Item) -> None:
        """Refuse an item whose index key attributes have the wrong type or are empty."""
        for name, kind, _ in self.key_schema.parts():
            av = item.get(name)
            if av is None:
                continue
            actual = type_of(av)
            if actual != kind:
                raise ValidationException(INVALID + f"Type mismatch for Index Key {name} Expected: {kind} "
                                                    f"Actual: {actual} IndexName: {self.name}")
            if kind != "N" and not av[kind]:
                empty = "string" if kind == "S" else "binary"
                raise ValidationException(EMPTY_INDEX_KEY.format(empty, self.name, name))

    def entry(self, item: Item | None, size: int | None = None) -> Entry | None:
        """The item's entry in this index; None when it lacks an index key attribute (or is None).
        The item must have passed `check`; `size` is the item's size, if known."""
        if item is None or any(name not in item for name in self.key_schema.names):
            return None
        if self.projects_all:
            return Entry(*encode_key(self.key_schema, item), item, size)
        return Entry(*encode_key(self.key_schema, item), {k: v for k, v in item.items() if k in self.projected})

    def fits(self, item: Item) -> bool:
        """Whether an item has the right types for this index (what a back-fill indexes)."""
        try:
            self.check(item)
        except ValidationException:
            return False
        return True


def indexes_of(description: dict, table_schema: KeySchema,
               backfilling: frozenset[str] = frozenset()) -> tuple[SecondaryIndex, ...]:
    """A table's secondary indexes, LSIs first, each in the order of its description;
    `backfilling` names the GSIs whose back-fill has not finished."""
    definitions = description["AttributeDefinitions"]
    return tuple(
        SecondaryIndex.from_wire(wire, definitions, table_schema, is_global, wire["IndexName"] in backfilling)
        for member, is_global in (("LocalSecondaryIndexes", False), ("GlobalSecondaryIndexes", True))
        for wire in description.get(member) or ()
    )


def index_arn(table_arn: str, name: str) -> str:
    return f"{table_arn}/index/{name}"
