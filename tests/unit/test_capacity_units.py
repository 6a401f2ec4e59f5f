"""DynamoDB's capacity unit rules, checked against the worked examples of its developer guide
("DynamoDB read and write operations": docs.aws.amazon.com/amazondynamodb/latest/developerguide/
read-write-operations.html) and BatchWriteItem's API reference."""

from table_api.operations.common import read_units, write_units
from table_api.operations.reading import page_units

KB = 1024


def sized(n_bytes: int) -> dict:
    """A stand-in item whose size is `n_bytes` (the rules only look at sizes)."""
    return {"size": n_bytes}


def size_of(item: dict) -> int:
    return item["size"]


def test_reading_a_3500_byte_item_costs_as_much_as_a_4_kb_item():
    # "reading a 3,500-byte item consumes the same throughput as reading a 4 KB item."
    assert read_units(sized(3500), size_of, consistent=True) == read_units(sized(4 * KB), size_of, True) == 1.0


def test_an_8_kb_item_takes_2_units_strongly_consistent_and_1_eventually():
    # "if your item size is 8 KB, you require 2 read units to sustain one strongly consistent read.
    # You'll require 1 read unit if you choose eventually consistent reads"
    assert read_units(sized(8 * KB), size_of, consistent=True) == 2.0
    assert read_units(sized(8 * KB), size_of, consistent=False) == 1.0


def test_get_item_rounds_3_5_kb_to_4_kb_and_10_kb_to_12_kb():
    # GetItem: "if you read an item of 3.5 KB, DynamoDB rounds the item size to 4 KB. If you read an
    # item of 10 KB, DynamoDB rounds the item size to 12 KB."
    assert read_units(sized(int(3.5 * KB)), size_of, consistent=True) == 1.0
    assert read_units(sized(10 * KB), size_of, consistent=True) == 3.0


def test_reading_a_missing_item_still_costs_one_read():
    # "If you perform a read operation on an item that doesn't exist, DynamoDB will still consume
    # read throughput"
    assert read_units(None, size_of, consistent=True) == 1.0
    assert read_units(None, size_of, consistent=False) == 0.5


def test_batch_get_rounds_each_item_before_adding_up():
    # BatchGetItem: "if BatchGetItem reads a 1.5 KB item and a 6.5 KB item, DynamoDB will calculate the
    # size as 12 KB (4 KB + 8 KB), not 8 KB (1.5 KB + 6.5 KB)."
    units = sum(read_units(sized(int(kb * KB)), size_of, consistent=True) for kb in (1.5, 6.5))
    assert units == 3.0  # 12 KB
    assert units != page_units(int(8 * KB), consistent=True)  # 2.0: the sum of sizes, not DynamoDB's rule


def test_query_rounds_the_total_size_of_what_it_read():
    # Query: "suppose your query returns 10 items whose combined size is 40.8 KB. DynamoDB rounds the
    # item size for the operation to 44 KB. If a query returns 1500 items of 64 bytes each, the
    # cumulative size is 96 KB."
    assert page_units(int(40.8 * KB), consistent=True) == 11.0  # 44 KB
    assert page_units(1500 * 64, consistent=True) == 24.0  # 96 KB
    assert page_units(1500 * 64, consistent=False) == 12.0


def test_an_empty_page_still_costs_one_read():
    assert page_units(0, consistent=True) == 1.0
    assert page_units(0, consistent=False) == 0.5


def test_writes_round_up_to_1_kb():
    # "a 500-byte item ... 1 KB"; "3.5 KB ... 4 KB"
    assert write_units(sized(500), size_of=size_of) == 1.0
    assert write_units(sized(int(3.5 * KB)), size_of=size_of) == 4.0


def test_a_put_or_update_costs_the_larger_of_the_item_before_and_after():
    # PutItem / UpdateItem: "the item size that matters is the larger of the two" (before, after).
    assert write_units(sized(int(3.5 * KB)), sized(500), size_of=size_of) == 4.0
    assert write_units(sized(500), sized(int(2.2 * KB)), size_of=size_of) == 3.0


def test_deleting_a_missing_item_costs_one_write():
    # BatchWriteItem: "Delete operations on nonexistent items consume one write capacity unit."
    assert write_units(None, None, size_of=size_of) == 1.0


def test_batch_write_rounds_each_item_before_adding_up():
    # BatchWriteItem: "a 500-byte item and a 3.5 KB item ... 5 KB (1 KB + 4 KB), not 4 KB".
    units = sum(write_units(sized(n), size_of=size_of) for n in (500, int(3.5 * KB)))
    assert units == 5.0
