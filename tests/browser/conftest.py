"""Browser fixtures: one headless Chromium per test module (Debian's, driven by Playwright, kept off the
network), a page per test, and where its screenshots go (`--console-screenshots DIR`, else the
test's tmp path)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.chromium import OFFLINE_FLAGS, find_chromium, unavailable

TIMEOUT_MS = 15_000  # a loaded 2-core machine: generous for loads and clicks


@pytest.fixture(scope="module")
def chromium():
    # Per module, not per session: while Playwright's sync API runs, an asyncio loop counts as
    # running in the main thread, and every later test calling asyncio.run() would fail.
    problem = unavailable()
    if problem:
        pytest.skip(f"browser tests: {problem}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), headless=True, args=OFFLINE_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def screenshots(request, tmp_path) -> Path:
    """A folder for this test's screenshots, kept for review."""
    root = request.config.getoption("--console-screenshots")
    folder = Path(root) / request.node.name if root else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page_errors():
    """JavaScript errors of the pages a test opens: a test ends by checking there were none."""
    return []


def watch(page, errors: list) -> None:
    page.on("pageerror", lambda exc: errors.append(str(exc)))
