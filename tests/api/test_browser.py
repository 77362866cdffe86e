"""The map page in a real headless Chromium: it loads, a click in Hà Nội names the right commune, search works.

Debian's ``chromium`` driven by Playwright (``executable_path=/usr/bin/chromium``; Playwright's own browser
download is never used). The service runs on a loopback port in a thread. Screenshots go to
``tests/artifacts/`` (gitignored). Without Chromium the tests are skipped, except under CI where they fail.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.conftest import in_ci

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("VPOSTCODE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def server(app: Any) -> Iterator[str]:
    """The app on a free loopback port (a real HTTP server, as the browser needs), for this module."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (skipped, or failed under CI, when either is missing)."""
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed (pip install playwright)"
    if missing is None and not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        missing = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if missing:
        if in_ci():
            pytest.fail(missing)
        pytest.skip(missing)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh page with the map loaded and its data drawn; its console errors are collected."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(server) and not request.url.startswith("data:") else None)
    page.goto(f"{server}/map", wait_until="load", timeout=TIMEOUT_MS)
    page.wait_for_selector("body[data-ready=true]", timeout=TIMEOUT_MS)
    yield page
    assert not outside, f"the page fetched from outside the service: {outside}"
    assert not page.errors, page.errors
    context.close()


def test_map_loads_communes_and_points(page: Any) -> None:
    status = page.inner_text("#status")
    assert status.startswith("Ready: 3321 communes"), status
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-country.png"))


def test_click_in_hanoi_shows_the_commune(page: Any) -> None:
    lat, lon = 21.0336, 105.8144  # Phường Ngọc Hà
    page.evaluate("([lat, lon]) => { window.vpostcode.map.setView([lat, lon], 15, {animate: false}); }", [lat, lon])
    point = page.evaluate("([lat, lon]) => window.vpostcode.map.latLngToContainerPoint([lat, lon])", [lat, lon])
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    card = page.wait_for_selector("#result .place[data-commune-code]", timeout=TIMEOUT_MS)
    assert card.get_attribute("data-commune-code") == "00008"
    assert card.get_attribute("data-postal-code") == "11119"
    assert card.get_attribute("data-address-code").startswith("W5Y7")
    assert "Ngọc Hà" in page.inner_text("#result")
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-click-hanoi.png"))


def test_search_an_address_and_a_code(page: Any) -> None:
    page.fill("#q", "Phường Ba Đình, Hà Nội")
    page.click("#search button")
    page.wait_for_selector('#result .place[data-commune-code="00004"]', timeout=TIMEOUT_MS)
    assert "Ba Đình" in page.inner_text("#result")
    page.wait_for_timeout(1000)  # the fly-to animation
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map-search-address.png"))
    page.fill("#q", "W5Y7-DH4-20Y")
    page.press("#q", "Enter")
    page.wait_for_selector('#result .place[data-address-code="W5Y7DH420Y"]', timeout=TIMEOUT_MS)
    page.fill("#q", "W5Y7-DH4-2Y0")
    page.press("#q", "Enter")
    page.wait_for_selector("#status.error", timeout=TIMEOUT_MS)
    assert "Did you mean" in page.inner_text("#status")
