"""Open a local HTML file in headless Debian Chromium with the network cut off.

Every request that is not ``file:`` or ``data:`` is aborted *and recorded*, so
a test can assert that a map made no attempt to reach the network (a blocked
request would otherwise just look like a missing image). Console errors,
uncaught page errors and JavaScript dialogs (``alert`` etc.) are recorded too.

Usage::

    from browser_util import offline_page, require_chromium

    @pytest.mark.browser
    def test_map(tmp_path):
        require_chromium()
        with offline_page(tmp_path / "map.html") as run:
            assert run.blocked == [] and run.errors == []
            run.page.locator(".leaflet-overlay-pane path").count()

Playwright's own browser download does not work here; we drive Debian's
``/usr/bin/chromium`` (``apt-get install chromium``) and never run
``playwright install``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")

# No background traffic of Chromium's own (updates, sync, QUIC probes) that
# could be mistaken for, or hide, a request made by the page.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-gpu",
]

_LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")


def require_chromium() -> None:
    """Skip the calling test, with the reason, if Debian Chromium is absent.

    Only a missing browser skips: a missing ``playwright`` package is an
    ImportError (a broken test environment must fail, not pass quietly).
    """
    if not CHROMIUM.exists():
        pytest.skip(f"browser test needs Debian Chromium at {CHROMIUM} "
                    "(apt-get install chromium); CI installs it")


@dataclass
class OfflineRun:
    """What happened while a page was open.

    Attributes
    ----------
    page : playwright.sync_api.Page
        The live page, for queries and clicks.
    blocked : list of str
        URLs of every request the page attempted outside file:/data:
        (all were aborted).
    errors : list of str
        Console errors and uncaught page errors, in order.
    dialogs : list of str
        JavaScript dialogs opened (each dismissed), as ``"type: message"``.
    """

    page: Any
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@contextlib.contextmanager
def offline_page(html_path: str | Path, *, width: int = 1000, height: int = 700,
                 settle_ms: int = 300) -> Iterator[OfflineRun]:
    """Open ``html_path`` in headless Chromium with all network blocked.

    Parameters
    ----------
    html_path : str or pathlib.Path
        A local HTML file.
    width, height : int
        Viewport in CSS pixels.
    settle_ms : int
        Extra wait after the ``load`` event, in milliseconds, for scripts
        that draw on a timer.

    Yields
    ------
    OfflineRun
        The page and the records; they keep filling while the block runs.
    """
    from playwright.sync_api import sync_playwright

    url = Path(html_path).resolve().as_uri()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                     headless=True)
        try:
            context = browser.new_context(viewport={"width": width, "height": height},
                                          service_workers="block")
            page = context.new_page()
            run = OfflineRun(page)

            def record(request_url: str) -> None:
                if not request_url.startswith(_LOCAL_SCHEMES) and request_url not in run.blocked:
                    run.blocked.append(request_url)

            def route(r) -> None:
                if r.request.url.startswith(_LOCAL_SCHEMES):
                    r.continue_()
                else:
                    record(r.request.url)
                    r.abort()

            # Context-wide, so pop-ups and frames are covered as well.
            context.route("**/*", route)
            # Belt and braces: a request that somehow bypasses routing still
            # shows up here.
            page.on("request", lambda req: record(req.url))
            page.on("console", lambda msg: run.errors.append(f"console.{msg.type}: {msg.text}")
                    if msg.type == "error" else None)
            page.on("pageerror", lambda exc: run.errors.append(f"pageerror: {exc}"))

            def on_dialog(dialog) -> None:
                run.dialogs.append(f"{dialog.type}: {dialog.message}")
                dialog.dismiss()

            page.on("dialog", on_dialog)
            page.goto(url, wait_until="load")
            page.wait_for_timeout(settle_ms)
            yield run
        finally:
            browser.close()


def keep_local(page, base_url: str) -> list[str]:
    """Abort every request of ``page`` that leaves the local server at ``base_url`` (its websockets on
    127.0.0.1 and data:/blob:/about: URLs are let through); returns the list the aborted URLs go to.

    For pages served by a local Jupyter/Voila server (a government network has no internet: nothing
    may be asked of it)."""
    outside: list[str] = []
    local = (base_url.rstrip("/"), "data:", "blob:", "about:", "ws://127.0.0.1")

    def route(r) -> None:
        if r.request.url.startswith(local):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return outside
