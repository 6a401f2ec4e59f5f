"""Where the browser tests find a Chromium, and what to say when there is none (the runner's summary
repeats it). Debian's package, not Playwright's download: `playwright install` is never needed."""

from __future__ import annotations

import os
import shutil

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
INSTALL_HINT = ("install one with `sudo apt-get install -y chromium` (Debian/Ubuntu; .ci/run does it) or point "
                "CDC_BRIDGE_CHROMIUM at a Chromium binary; Playwright comes with `pip install -e '.[test]'`")
# Off the network: no component updates, no safe-browsing or metrics pings, and every host name but
# loopback resolves to nothing.
OFFLINE_FLAGS = ["--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--no-first-run",
                 "--disable-default-apps", "--metrics-recording-only", "--no-pings", "--disable-breakpad",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"]


def find_chromium() -> str | None:
    configured = os.environ.get("CDC_BRIDGE_CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    found = next((path for path in CANDIDATES if os.access(path, os.X_OK)), None)
    return found or shutil.which("chromium") or shutil.which("chromium-browser")


def unavailable() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return f"Playwright for Python is not installed; {INSTALL_HINT}"
    if find_chromium() is None:
        return f"no Chromium found; {INSTALL_HINT}"
    return None
