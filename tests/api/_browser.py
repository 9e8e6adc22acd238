"""Headless Debian Chromium driven by selenium, for the /verify page tests (scripts/setup.sh --browser
installs chromium and chromium-driver). ``env`` reaches the browser through chromedriver, e.g. a
FONTCONFIG_FILE that hides the machine's fonts."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# The browser is a test dependency: missing, the tests fail.
assert os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER), (
    "the /verify page tests need Debian's chromium and chromium-driver: run scripts/setup.sh --browser"
)


@contextlib.contextmanager
def chromium(*, env: dict[str, str] | None = None, window: str = "1200,1600") -> Iterator[Any]:
    profile = tempfile.mkdtemp(prefix="verify-page-chromium-")
    options = Options()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--lang=en-US",
        f"--window-size={window}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    service = Service(CHROMEDRIVER, env={**os.environ, **env} if env else None)
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
