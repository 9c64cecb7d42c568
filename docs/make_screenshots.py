"""Screenshots for the README (1600×1000, Chromium): the app in Voila (zh, en) and the offline map.

Usage: ``.venv/bin/python docs/make_screenshots.py`` → docs/app_zh.png, docs/app_en.png (the first screen),
docs/app_region_zh.png (太原市 selected), docs/map_offline.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser_util import CHROMIUM, CHROMIUM_ARGS, offline_page  # noqa: E402
from test_jupyterlab import voila  # noqa: E402

SIZE = {"width": 1600, "height": 1000}


def app_shots(pw, tmp: Path) -> None:
    """The first screen as it opens (the whole province: 117/117 counties meet every target), zh and en;
    then 太原市 selected (the map fits the region)."""
    with voila(tmp) as (url, log):
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport=SIZE)
            page.goto(url, wait_until="domcontentloaded")
            page.wait_for_selector(".cp-status[data-busy='0']", timeout=300_000)
            page.wait_for_function("() => +(document.querySelector('.planner-live')||{dataset:{}}).dataset.paintedRev >= 0",
                                   timeout=120_000)
            page.wait_for_timeout(800)
            page.screenshot(path=str(ROOT / "docs" / "app_zh.png"))
            page.locator(".cp-lang button", has_text="English").click()
            page.wait_for_function("() => document.querySelector('.planner-live-bar').innerText.includes('Shade')",
                                   timeout=60_000)
            page.wait_for_timeout(800)
            page.screenshot(path=str(ROOT / "docs" / "app_en.png"))
            page.locator(".cp-lang button", has_text="中文").click()
            page.wait_for_function("() => !document.querySelector('.planner-live-bar').innerText.includes('Shade')",
                                   timeout=60_000)
            rev = page.evaluate("() => +document.querySelector('.planner-live').dataset.paintedRev")
            page.locator(".cp-level select").select_option(label="地市")
            page.locator(".cp-region select").select_option(label="太原市")
            page.wait_for_function(f"() => +document.querySelector('.planner-live').dataset.paintedRev > {rev}",
                                   timeout=120_000)
            page.wait_for_selector(".cp-status[data-busy='0']", timeout=120_000)
            page.wait_for_timeout(800)
            page.screenshot(path=str(ROOT / "docs" / "app_region_zh.png"))
        finally:
            browser.close()


def map_shot(tmp: Path) -> None:
    import planner

    res = planner.solve(planner.load_demo("shanxi"))
    path = res.to_html(tmp / "map.html")
    with offline_page(path, width=SIZE["width"], height=SIZE["height"], settle_ms=1500) as run:
        run.page.screenshot(path=str(ROOT / "docs" / "map_offline.png"))
        assert run.blocked == [] and run.errors == [], (run.blocked, run.errors)


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        if "--map-only" not in sys.argv:
            with sync_playwright() as pw:
                app_shots(pw, Path(tmp))
        map_shot(Path(tmp))


if __name__ == "__main__":
    main()
