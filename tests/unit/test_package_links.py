"""GetFunction's expiring package links (lambda_api/package_links.py)."""

from urllib.parse import parse_qsl, urlsplit

from lambda_api.package_links import VALID_SECONDS, PackageLinks

PATH = "/_cdc_bridge/lambda/fn/" + "a" * 64 + ".zip"


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_a_link_opens_its_package_until_it_expires():
    links, made = PackageLinks(), 1_800_000_000.0
    query = query_of(links.sign("http://127.0.0.1:8000" + PATH, PATH, made))
    assert links.refusal(PATH, query, made) is None
    assert links.refusal(PATH, query, made + VALID_SECONDS) is None
    assert links.refusal(PATH, query, made + VALID_SECONDS + 1) == "Request has expired"


def test_a_link_opens_no_other_package_and_no_other_server_s_links():
    links, now = PackageLinks(), 1_800_000_000.0
    query = query_of(links.sign("http://h" + PATH, PATH, now))
    assert links.refusal(PATH.replace("/fn/", "/other/"), query, now) is not None
    assert PackageLinks().refusal(PATH, query, now) is not None  # a restarted server draws a new key
    assert links.refusal(PATH, {}, now) is not None
