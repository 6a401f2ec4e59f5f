"""The study guide through the web console, in a real Chromium: create the guide's table with the form,
put an item, see it in the explorer and its INSERT in the live tail, edit it (MODIFY with both images),
delete it (REMOVE); every page visited and screenshotted, at desktop and phone width, light and dark."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import httpx
import pytest

from tests.browser.conftest import watch
from tests.conftest import client_kwargs, session_up_url

# How long the tail's events are waited for: far over the second the issue promises (`python -m bench
# console` measures that, p99 ~0.3 s) since a loaded 2-core machine can stall a browser for seconds.
EVENT_WAIT_MS = 15_000
# A page has its content once no status line or placeholder says it is still at work ("Loading tables…")
LOADED = "() => ![...document.querySelectorAll('main .status, main p')].some(e => e.textContent.endsWith('…'))"


@pytest.fixture(scope="module")
def console_url(broker, tmp_path_factory, request):
    return session_up_url("console", broker, tmp_path_factory, request)


@pytest.fixture
def page(browser_context, page_errors):
    page = browser_context.new_page()
    watch(page, page_errors)
    return page


def create_guide_table(page, url: str, name: str) -> None:
    """The guide's console steps: keys userId (S) / timestamp (N), a GSI on timestamp, on-demand,
    NEW_AND_OLD_IMAGES stream, TTL on expirationTimestamp."""
    page.goto(f"{url}/console#/tables")
    page.get_by_role("link", name="Create table").click()
    page.get_by_label("Table name").fill(name)
    details = page.locator("fieldset", has=page.locator("legend", has_text="Table details"))
    details.get_by_label("Partition key", exact=True).fill("userId")
    details.get_by_label("Sort key (optional)", exact=True).fill("timestamp")
    details.get_by_label("Sort key (optional) type").select_option("N")
    page.get_by_role("button", name="Add global index").click()
    index = page.locator("fieldset.index")
    index.get_by_label("Index name").fill("timestamp-index")
    index.get_by_label("Partition key", exact=True).fill("timestamp")
    index.get_by_label("Partition key type").select_option("N")
    page.get_by_label("On-demand").check()
    page.get_by_label("Turn on the stream").check()
    page.get_by_label("View type").select_option("NEW_AND_OLD_IMAGES")
    page.get_by_label("TTL attribute (optional)").fill("expirationTimestamp")


def save_item(page, document: dict) -> None:
    dialog = page.locator("dialog.editor")
    dialog.get_by_label("Plain JSON").check()
    dialog.get_by_label("Item").fill(json.dumps(document))
    dialog.get_by_role("button", name="Save").click()
    dialog.wait_for(state="detached")


def test_study_guide_flow_in_the_console(console_url, browser_context, page, page_errors, screenshots):
    name = f"MyTable-{uuid.uuid4().hex[:8]}"
    create_guide_table(page, console_url, name)
    page.screenshot(path=screenshots / "01-create-table.png", full_page=True)
    page.get_by_role("button", name="Create table").click()
    page.get_by_role("heading", name=name, exact=True).wait_for()
    page.get_by_text("timestamp-index").wait_for()
    page.screenshot(path=screenshots / "02-table-detail.png", full_page=True)

    table = boto3.client("dynamodb", **client_kwargs(console_url)).describe_table(TableName=name)["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["userId", "timestamp"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "timestamp-index"

    page.goto(f"{console_url}/console#/tables")
    page.get_by_role("row", name=name).wait_for()
    page.screenshot(path=screenshots / "03-tables.png", full_page=True)

    tail = browser_context.new_page()  # the live tail, open beside the explorer as a user would have it
    watch(tail, page_errors)
    tail.goto(f"{console_url}/console#/streams/{name}")
    tail.get_by_text("Live: following").wait_for()

    page.goto(f"{console_url}/console#/items/{name}")
    page.get_by_role("button", name="Create item").click()
    page.screenshot(path=screenshots / "04-item-editor.png")
    save_item(page, {"userId": "123", "timestamp": 20231010, "expirationTimestamp": 20231015})
    row = page.get_by_role("row").filter(has_text="20231015")
    row.wait_for()
    assert "123" in row.inner_text()
    page.screenshot(path=screenshots / "05-items.png", full_page=True)

    insert = tail.locator("li.event.INSERT")
    insert.wait_for(timeout=EVENT_WAIT_MS)
    assert "expirationTimestamp" in insert.locator(".image").nth(1).inner_text()
    assert insert.locator(".image").nth(0).inner_text().strip().endswith("–")  # an INSERT has no old image

    row.get_by_role("button", name="Edit").click()
    save_item(page, {"userId": "123", "timestamp": 20231010, "expirationTimestamp": 20231020})
    modify = tail.locator("li.event.MODIFY")
    modify.wait_for(timeout=EVENT_WAIT_MS)
    old_image, new_image = modify.locator(".image").nth(0), modify.locator(".image").nth(1)
    assert "20231015" in old_image.inner_text() and "20231020" in new_image.inner_text()
    assert modify.locator("dd.changed").count() == 2  # expirationTimestamp, marked in both images
    assert modify.locator("dt.key").count() == 4  # userId and timestamp, highlighted in both images

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("row").filter(has_text="20231020").get_by_role("button", name="Delete").click()
    page.get_by_text("No items.").wait_for()
    remove = tail.locator("li.event.REMOVE")
    remove.wait_for(timeout=EVENT_WAIT_MS)
    assert "20231020" in remove.locator(".image").nth(0).inner_text()
    tail.locator("details.shards summary").click()
    tail.screenshot(path=screenshots / "06-live-tail.png", full_page=True)
    shard_rows = tail.locator("details.shards tbody tr")
    assert shard_rows.count() == 4 and "3" in [shard_rows.nth(i).locator("td").last.inner_text() for i in range(4)]

    assert page_errors == []


def test_live_tail_filters_pause_and_trim_horizon(console_url, browser_context, page, page_errors, screenshots):
    name = f"Tail-{uuid.uuid4().hex[:8]}"
    dynamodb = boto3.client("dynamodb", **client_kwargs(console_url))
    dynamodb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST",
                          StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    for key in ("alpha", "beta"):
        dynamodb.put_item(TableName=name, Item={"pk": {"S": key}, "n": {"N": "1"}})
    dynamodb.delete_item(TableName=name, Key={"pk": {"S": "beta"}})

    page.goto(f"{console_url}/console#/streams/{name}")
    page.get_by_text("Live: following").wait_for()
    page.get_by_label("from TRIM_HORIZON").check()
    page.get_by_role("button", name="Restart").click()
    page.get_by_text("from TRIM_HORIZON", exact=False).last.wait_for()
    events = page.locator("li.event")
    page.wait_for_function("() => document.querySelectorAll('li.event').length === 3")

    page.get_by_label("REMOVE").uncheck()
    assert page.locator("li.event:visible").count() == 2
    page.get_by_label("Key contains").fill("alpha")
    assert page.locator("li.event:visible").count() == 1
    page.get_by_label("Key contains").fill("")
    page.get_by_label("REMOVE").check()

    page.get_by_role("button", name="Pause").click()
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "gamma"}})
    page.get_by_text("Paused: 1 new event held").wait_for()
    assert events.count() == 3
    page.get_by_role("button", name="Resume").click()
    assert events.count() == 4
    assert "gamma" in events.first.inner_text()  # newest first
    page.screenshot(path=screenshots / "tail-from-trim-horizon.png", full_page=True)
    assert page_errors == []


def test_every_page_renders_at_desktop_and_phone_width_in_both_themes(console_url, browser_context, page,
                                                                      page_errors, screenshots):
    kinesis = boto3.client("kinesis", **client_kwargs(console_url))
    stream = f"clicks-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})

    page.goto(f"{console_url}/console#/kinesis/{stream}")
    page.get_by_label("Partition key").fill("user-1")
    page.get_by_label("Data (text)").fill("hello kinesis")
    page.get_by_role("button", name="Put record").click()
    page.get_by_text("Put in shardId-").wait_for()
    page.get_by_role("button", name="Read").click()
    page.get_by_role("cell", name="hello kinesis").wait_for()
    page.screenshot(path=screenshots / "kinesis.png", full_page=True)

    page.goto(f"{console_url}/console#/triggers")
    page.get_by_role("table", name="Functions").wait_for()
    mappings = page.get_by_text("not available on this server yet").or_(page.get_by_role("table", name="Event source mappings"))
    mappings.wait_for()
    page.screenshot(path=screenshots / "triggers.png", full_page=True)

    page.goto(f"{console_url}/console#/charts")
    page.get_by_text("samples").wait_for()
    assert page.locator("figure.chart svg").count() == 5
    page.screenshot(path=screenshots / "charts.png", full_page=True)

    for theme in ("dark", "light"):
        page.evaluate("theme => localStorage.setItem('cdc-bridge-theme', theme)", theme)
        for width, height in ((1280, 800), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            for route in ("tables", "items", "streams", "kinesis", "triggers", "charts"):
                page.goto(f"{console_url}/console#/{route}")
                page.reload()
                page.locator("#page-title").wait_for()
                page.wait_for_function(LOADED)
                overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
                assert overflow <= 0, f"{route} at {width}px scrolls sideways by {overflow}px"
                page.screenshot(path=screenshots / f"{route}-{width}-{theme}.png", full_page=True)
            assert page.evaluate("document.documentElement.dataset.theme") == theme
    assert page_errors == []


def test_api_errors_are_shown_as_the_api_words_them(console_url, page, page_errors):
    name = f"Errors-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb", **client_kwargs(console_url)).create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    page.goto(f"{console_url}/console#/items/{name}")
    page.get_by_role("button", name="Create item").click()
    dialog = page.locator("dialog.editor")
    dialog.get_by_label("DynamoDB JSON").check()
    dialog.get_by_label("Item").fill(json.dumps({"pk": {"N": "1"}}))
    dialog.get_by_role("button", name="Save").click()
    error = dialog.locator(".status.error")
    error.wait_for()
    assert error.inner_text() == ("ValidationException: One or more parameter values were invalid: Type mismatch for "
                                  "key pk expected: S actual: N")

    page.goto(f"{console_url}/console#/create")
    page.get_by_label("Table name").fill(name)
    page.locator("fieldset", has=page.locator("legend", has_text="Table details")).get_by_label(
        "Partition key", exact=True).fill("pk")
    page.get_by_role("button", name="Create table").click()
    assert page.locator(".status.error").inner_text() == f"ResourceInUseException: Table already exists: {name}"
    assert page_errors == []


def test_deleting_a_table_asks_for_its_name(console_url, page, page_errors):
    name = f"Doomed-{uuid.uuid4().hex[:8]}"
    dynamodb = boto3.client("dynamodb", **client_kwargs(console_url))
    dynamodb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    page.goto(f"{console_url}/console#/tables/{name}")
    page.get_by_role("button", name="Delete table").click()
    confirm = page.get_by_role("dialog")
    delete = confirm.get_by_role("button", name="Delete")
    assert delete.is_disabled()
    confirm.get_by_label("Name of the table").fill(name[:-1])
    assert delete.is_disabled()
    confirm.get_by_label("Name of the table").fill(name)
    delete.click()
    page.get_by_role("heading", name="Tables").wait_for()
    assert name not in dynamodb.list_tables()["TableNames"]
    assert page_errors == []


def test_query_on_an_index_with_a_sort_key_condition_a_filter_and_pages(console_url, page, page_errors):
    name = f"Orders-{uuid.uuid4().hex[:8]}"
    dynamodb = boto3.client("dynamodb", **client_kwargs(console_url))
    dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                              {"AttributeName": "customer", "AttributeType": "S"},
                              {"AttributeName": "total", "AttributeType": "N"}],
        GlobalSecondaryIndexes=[{"IndexName": "by-customer", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"},
                                               {"AttributeName": "total", "KeyType": "RANGE"}]}])
    for i in range(40):
        dynamodb.put_item(TableName=name, Item={"id": {"S": f"o{i:02d}"}, "customer": {"S": "ann" if i % 2 else "bob"},
                                                "total": {"N": str(i)}, "qty": {"N": str(i)},
                                                "paid": {"BOOL": i % 4 == 1}})
    page.goto(f"{console_url}/console#/items/{name}")
    page.get_by_text("25 items returned").wait_for()  # a first Scan page
    page.get_by_label("Operation").select_option("Query")
    page.get_by_label("Table or index").select_option("by-customer")
    page.get_by_label("customer (partition key, S) =").fill("ann")
    page.get_by_label("total (sort key, N)").select_option("between")
    page.get_by_label("Value", exact=True).fill("5")
    page.get_by_label("and", exact=True).fill("35")
    page.get_by_role("button", name="Run").click()
    page.get_by_text("16 items returned, 16 scanned (page 1)").wait_for()  # odd totals 5..35
    rows = page.locator("table.items tbody tr")
    assert rows.first.locator("td").nth(0).inner_text() == "o05"

    page.get_by_role("button", name="Add filter").click()
    page.get_by_label("Filter attribute name").fill("paid")
    page.get_by_label("Filter value type").select_option("BOOL")
    page.get_by_label("Filter value", exact=True).fill("true")
    page.get_by_label("Page size").select_option("25")
    page.get_by_role("button", name="Run").click()
    page.get_by_text("8 items returned, 16 scanned (page 1)").wait_for()  # 5, 9, 13, ..., 33

    page.get_by_role("button", name="Add filter").click()  # and a second filter: only those over 20
    filters = page.locator(".row.filter")
    filters.nth(1).get_by_label("Filter attribute name").fill("total")
    filters.nth(1).get_by_label("Filter operator").select_option(">")
    filters.nth(1).get_by_label("Filter value type").select_option("N")
    filters.nth(1).get_by_label("Filter value", exact=True).fill("20")
    page.get_by_role("button", name="Run").click()
    page.get_by_text("ValidationException: Filter Expression can only contain non-primary key attributes: "
                     "Primary key attribute: total").wait_for()  # the index's sort key: as DynamoDB words it
    filters.nth(1).get_by_label("Filter attribute name").fill("qty")
    page.get_by_role("button", name="Run").click()
    page.get_by_text("4 items returned, 16 scanned (page 1)").wait_for()  # 21, 25, 29, 33

    page.get_by_label("Operation").select_option("Scan")
    page.get_by_label("Table or index").select_option("")
    for _ in range(2):
        page.get_by_role("button", name="Remove filter").first.click()
    page.get_by_role("button", name="Run").click()
    page.get_by_text("25 items returned, 25 scanned (page 1)").wait_for()
    page.get_by_role("button", name="Next page").click()
    page.get_by_text("15 items returned, 15 scanned (page 2)").wait_for()
    assert page.get_by_role("button", name="Next page").is_disabled()
    page.get_by_role("button", name="Previous page").click()
    page.get_by_text("(page 1)").wait_for()
    assert page_errors == []


def test_every_control_has_a_label(console_url, page, page_errors):
    name = f"Labels-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb", **client_kwargs(console_url)).create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    unlabelled = """() => [...document.querySelectorAll('main input, main select, main textarea, main button')]
        .filter(c => !(c.labels && c.labels.length) && !c.getAttribute('aria-label') && !c.textContent.trim())
        .map(c => c.outerHTML)"""
    for route in ("tables", "create", f"items/{name}", f"streams/{name}", "kinesis", "triggers", "charts"):
        page.goto(f"{console_url}/console#/{route}")
        page.locator("#page-title").wait_for()
        page.wait_for_function(LOADED)
        if route == "create":
            page.get_by_role("button", name="Add global index").click()
            page.get_by_role("button", name="Add local index").click()
        if route.startswith("items/"):
            page.get_by_role("button", name="Add filter").click()
        assert page.evaluate(unlabelled) == [], route
    page.keyboard.press("Tab")  # the skip link comes first, and goes to the content
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert page_errors == []


def test_plain_json_and_dynamodb_json_convert_both_ways(console_url, page):
    page.goto(f"{console_url}/console")
    converted = page.evaluate("""async () => {
        const m = await import('/console/static/ddbjson.js');
        const item = {id: {S: 'a'}, n: {N: '1.5'}, ok: {BOOL: true}, none: {NULL: true},
                      list: {L: [{S: 'x'}, {N: '2'}]}, map: {M: {deep: {S: 'y'}}}};
        return [m.plainItem(item), m.itemFromPlain(m.plainItem(item)), m.hasLossyTypes(item),
                m.hasLossyTypes({s: {SS: ['a']}}), m.plainItem({s: {NS: ['1', '2']}})];
    }""")
    plain, back, lossy, lossy_set, numbers = converted
    assert plain == {"id": "a", "n": 1.5, "ok": True, "none": None, "list": ["x", 2], "map": {"deep": "y"}}
    assert back == {"id": {"S": "a"}, "n": {"N": "1.5"}, "ok": {"BOOL": True}, "none": {"NULL": True},
                    "list": {"L": [{"S": "x"}, {"N": "2"}]}, "map": {"M": {"deep": {"S": "y"}}}}
    assert (lossy, lossy_set, numbers) == (False, True, {"s": [1, 2]})


def get_records_calls(url: str) -> int:
    metrics = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in metrics.splitlines()  # Prometheus writes 188.0
               if line.startswith('cdc_bridge_requests_total{operation="DynamoDBStreams_20120810.GetRecords"}'))


def test_the_tail_stops_reading_when_its_page_goes_and_metrics_count_the_calls(console_url):
    name = f"Gone-{uuid.uuid4().hex[:8]}"
    dynamodb = boto3.client("dynamodb", **client_kwargs(console_url))
    arn = dynamodb.create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})["TableDescription"]["LatestStreamArn"]
    with httpx.stream("GET", f"{console_url}/console/tail", params={"streamArn": arn}, timeout=30) as response:
        assert next(response.iter_lines()) == "event: shards"
        time.sleep(1.0)
    polled = get_records_calls(console_url)
    assert polled > 0  # the tail read through the Streams API, and /metrics counted it
    time.sleep(2.0)  # a leaked tail would poll 4 shards 5 times a second
    assert get_records_calls(console_url) == polled
    for _ in range(2):
        dynamodb.describe_table(TableName=name)
    assert 'cdc_bridge_requests_total{operation="DynamoDB_20120810.DescribeTable"}' in httpx.get(
        f"{console_url}/metrics").text
