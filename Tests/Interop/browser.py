"""A real browser for the interop tests: Debian's headless Chromium driven by selenium through
Debian's chromedriver (`apt-get install chromium chromium-driver`; `.ci/run` installs them when
missing). conftest.py's session-scoped `browser` fixture starts one with `start_chromium()`.

Nothing is downloaded: both binaries are given to selenium by path, so Selenium Manager stays idle.
A missing browser or driver fails the test with the command that installs it; it is never skipped.
"""

from __future__ import annotations

import shutil

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser")
CHROMEDRIVER_NAMES = ("chromedriver",)
INSTALL_HINT = "install them with `apt-get install -y chromium chromium-driver` (.ci/run does)"


def _which(names: tuple[str, ...]) -> str | None:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def start_chromium():
    """A headless Chromium session (no sandbox: the tests run as root in CI)."""
    browser_path = _which(CHROMIUM_NAMES)
    driver_path = _which(CHROMEDRIVER_NAMES)
    missing = [name for name, path in (("chromium", browser_path), ("chromedriver", driver_path)) if path is None]
    if missing:
        pytest.fail(f"the browser tests need {' and '.join(missing)} on PATH: {INSTALL_HINT}", pytrace=False)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed in the interop venv (Tests/Interop/requirements.txt; `make venv`)",
                    pytrace=False)

    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--no-first-run", "--disable-extensions", "--window-size=800,600"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_script_timeout(15)
    driver.set_page_load_timeout(15)
    return driver
