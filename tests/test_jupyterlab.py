"""The JupyterLab entry: the launcher card's YAML, its installation, and the app in a real JupyterLab.

jupyter-app-launcher reads every ``jp_app_launcher*.yaml`` in
``<jupyter data dir>/jupyter_app_launcher/`` and silently drops entries that
fail its JSON schema, so the YAML is checked against that schema here, and the
files are laid out exactly as pyproject's ``[tool.setuptools.data-files]``
installs them before a browser clicks the card.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from importlib import resources
from pathlib import Path

import pytest
import yaml

from browser_util import CHROMIUM, CHROMIUM_ARGS, keep_local, require_chromium

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER_DIR = "share/jupyter/jupyter_app_launcher"
YAML_NAME = "jp_app_launcher_care_planner.yaml"
CARD_TITLE = "Care capacity planner"


def data_files() -> dict[str, list[str]]:
    """pyproject's [tool.setuptools.data-files]: install folder → source files."""
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)["tool"]["setuptools"]["data-files"]


def install_data_files(prefix: Path) -> Path:
    """Copy the data files under ``prefix`` as a wheel install would; returns the launcher folder."""
    for folder, files in data_files().items():
        dest = prefix / folder
        dest.mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copy2(ROOT / f, dest / Path(f).name)
    return prefix / LAUNCHER_DIR


def launcher_schema() -> dict:
    return json.loads(resources.files("jupyter_app_launcher").joinpath("schema/config.schema.json").read_text())


def test_launcher_yaml_matches_the_extension_schema():
    import jsonschema

    entries = yaml.safe_load((ROOT / LAUNCHER_DIR / YAML_NAME).read_text(encoding="utf-8"))
    assert isinstance(entries, list) and len(entries) == 1
    schema = launcher_schema()
    for entry in entries:
        # the extension adds a fresh "id" to each entry before validating
        jsonschema.validate(dict(entry, id="x"), schema)
        assert entry["type"] == "notebook"
        assert CARD_TITLE in entry["title"] and "一老一小规划" in entry["title"]
        assert "/" not in entry["title"], "the title is the copied notebook's file name"
    with pytest.raises(jsonschema.ValidationError):  # the check has teeth
        jsonschema.validate(dict(entries[0], id="x", typo="y"), schema)


def test_installed_layout_is_what_the_extension_loads(tmp_path):
    from jupyter_app_launcher.utils import parse_config

    folder = install_data_files(tmp_path)
    items = parse_config(str(folder), str(folder / YAML_NAME))  # drops invalid entries silently
    assert len(items) == 1
    item = items[0]
    # "notebook" cards upload sourceCode as a fresh copy: it must be our planner notebook
    assert item["sourceCode"] == (ROOT / "notebooks" / "planner.ipynb").read_text(encoding="utf-8")
    assert item["icon"].lstrip().startswith("<svg")
    nb = json.loads(item["sourceCode"])
    code = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "PlannerApp" in code


def test_dashboard_template_cuts_every_cdn_link_of_voilas_lab_page():
    """The care-planner template removes Voila's CDN links by exact text: that text must still be Voila's."""
    from jupyter_core.paths import jupyter_path

    lab = next(Path(d) / "lab" / "index.html.j2" for d in jupyter_path("voila", "templates")
               if (Path(d) / "lab" / "index.html.j2").exists()).read_text(encoding="utf-8")
    ours = (ROOT / "share/jupyter/voila/templates/care-planner/index.html.j2").read_text(encoding="utf-8")
    cut = re.findall(r"replace\('([^']*)', ''\)", ours)
    assert len(cut) == 2 and all(link in lab for link in cut)
    for link in cut:
        lab = lab.replace(link, "")
    lab = re.sub(r"\{#.*?#\}", "", lab, flags=re.S)  # comments are not rendered
    assert not re.search(r"https?://", lab), "Voila's lab page links something new from the internet"


def test_makefile_links_the_same_files():
    """`pip install -e` skips data files; the Makefile links the same files into the venv."""
    text = (ROOT / "Makefile").read_text()
    for files in data_files().values():
        for f in files:
            assert f in text, f"Makefile does not link {f}"


# ------------------------------------------------------------------ the browser test

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _jupyter_env(tmp_path: Path, variables) -> dict:
    """The environment with each Jupyter folder variable pointing into ``tmp_path``."""
    env = dict(os.environ)
    for var, sub in variables:
        (tmp_path / sub).mkdir()
        env[var] = str(tmp_path / sub)
    return env


@contextlib.contextmanager
def _serve(cmd, root: Path, env: dict, log: Path, ready, what: str):
    """Start a server in its own process group; wait (≤ 90 s) until ``ready()``; stop it at the end."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                if ready():
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start in 90 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield proc
    finally:
        _stop(proc)


@contextlib.contextmanager
def jupyterlab(tmp_path: Path):
    """Start JupyterLab on a free localhost port with every Jupyter folder in ``tmp_path``.

    Yields (base URL, token, server log path). The server and its kernels are
    stopped at the end, whatever happens.
    """
    root = tmp_path / "root"
    shutil.copytree(ROOT / "notebooks", root)
    prefix = tmp_path / "prefix"
    install_data_files(prefix)
    env = _jupyter_env(tmp_path, (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                                  ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                                  ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"), ("IPYTHONDIR", "ipython")))
    env["JUPYTER_PATH"] = str(prefix / "share" / "jupyter")   # where the launcher card is
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp_path / "jupyterlab.log"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--ServerApp.allow_root=True", "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
           "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate"]
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
            return r.status == 200

    with _serve(cmd, root, env, log, ready, "JupyterLab"):
        yield url, token, log, root


@contextlib.contextmanager
def voila(tmp_path: Path):
    """Start the Voila dashboard (`make dashboard`'s command) on a free localhost port.

    Yields (URL, log path). Every Jupyter folder is in ``tmp_path``; the server and its kernels are
    stopped at the end, whatever happens.
    """
    root = tmp_path / "root"
    shutil.copytree(ROOT / "notebooks", root)
    env = _jupyter_env(tmp_path, (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                                  ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")))
    install_data_files(tmp_path / "prefix")  # the care-planner template, where a wheel puts it
    env["JUPYTER_PATH"] = str(tmp_path / "prefix" / "share" / "jupyter")
    env.pop("CARE_PLANNER_SANDBOX", None)   # the dashboard's own default sandbox
    port = _free_port()
    log = tmp_path / "voila.log"
    cmd = [sys.executable, "-m", "voila", str(root / "planner.ipynb"), f"--port={port}", "--no-browser",
           "--template=care-planner", "--Voila.ip=127.0.0.1"]

    def ready() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True

    with _serve(cmd, root, env, log, ready, "Voila"):
        yield f"http://127.0.0.1:{port}/", log


def _live_rev(page) -> int:
    """The values revision the live map has painted (-1 before the first)."""
    return int(page.evaluate("() => +(document.querySelector('.planner-live') || {dataset: {}}).dataset.paintedRev"))


def _wait_map(page, timeout_ms: int) -> None:
    page.wait_for_function("() => { const e = document.querySelector('.planner-live');"
                           " return e && +e.dataset.paintedRev >= 0; }", timeout=timeout_ms)


def _wait_idle(page, timeout_ms: int) -> None:
    """Until the app's status says it is not solving (and it has a headline)."""
    page.wait_for_selector(".cp-headline-cost .cp-v", state="visible", timeout=timeout_ms)
    page.wait_for_selector(".cp-status[data-busy='0']", timeout=timeout_ms)


def _set_slider(page, target: str, value: str, cost_before: str) -> None:
    """Type ``value`` into a target slider's readout, as a planner can; wait until the plan's cost has
    changed and the app is idle again."""
    readout = page.locator(f".cp-slider-{target} .widget-readout").first
    readout.scroll_into_view_if_needed()
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(value)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "([sel, old]) => { const e = document.querySelector(sel); return e && e.innerText !== old; }",
        arg=[".cp-headline-cost .cp-v", cost_before], timeout=240_000)
    _wait_idle(page, 240_000)


@pytest.mark.browser
@pytest.mark.slow
def test_launcher_card_opens_the_planner_and_a_slider_resolves(tmp_path):
    require_chromium()
    from playwright.sync_api import TimeoutError as PlaywrightTimeout, sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with jupyterlab(tmp_path) as (url, token, log, root), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        outside: list[str] = []
        page = None
        try:
            context = browser.new_context(viewport={"width": 1500, "height": 1000}, service_workers="block")

            def route(r):  # JupyterLab serves its own assets: nothing may leave localhost
                u = r.request.url
                if u.startswith((url, "data:", "blob:", "about:")) or u.startswith("ws://127.0.0.1"):
                    r.continue_()
                else:
                    outside.append(u)
                    r.abort()

            context.route("**/*", route)
            page = context.new_page()
            page.goto(f"{url}/lab?token={token}", wait_until="domcontentloaded")
            card = page.locator(".jp-LauncherCard", has_text=CARD_TITLE).first
            card.wait_for(state="visible", timeout=120_000)
            page.screenshot(path=str(shots / "1-launcher.png"))
            card.click()

            # a fresh copy of the planner notebook opens (named after the card)
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
            deadline = time.monotonic() + 30
            while not list(root.glob("*Care capacity planner*.ipynb")) and time.monotonic() < deadline:
                time.sleep(0.5)
            copies = list(root.glob("*Care capacity planner*.ipynb"))
            assert copies, f"no copy of the notebook in {sorted(p.name for p in root.iterdir())}"

            # the card replaces the new notebook's content and then starts its kernel: wait for
            # "Idle", then Run → Run All Cells (again if the first click came too early)
            page.locator(".jp-StatusBar-TextItem", has_text="Idle").first.wait_for(timeout=120_000)
            for attempt in range(3):
                page.locator(".lm-MenuBar-item", has_text="Run").first.click()
                page.get_by_role("menuitem", name="Run All Cells", exact=True).first.click()
                try:
                    page.wait_for_selector(".cp-app", timeout=60_000)
                    break
                except PlaywrightTimeout:
                    page.keyboard.press("Escape")
            else:
                raise AssertionError("Run All Cells did not start the app")
            _wait_idle(page, 240_000)
            _wait_map(page, 60_000)
            cost_before = page.locator(".cp-headline-cost .cp-v").inner_text()
            slots_before = page.locator(".cp-headline-slots .cp-v").inner_text()
            rev_before = _live_rev(page)
            page.evaluate("() => { const m = document.querySelector('.planner-live').__plannerMap;"
                          " window.__firstMap = m; m.setZoom(m.getZoom() + 1, {animate: false}); }")
            zoom_before = page.evaluate("() => window.__firstMap.getZoom()")
            page.screenshot(path=str(shots / "2-solved.png"), full_page=True)

            # move the childcare slider: type into its readout, as a planner can
            readout = page.locator(".cp-slider-childcare_per_1000 .widget-readout").first
            old_value = readout.inner_text()
            _set_slider(page, "childcare_per_1000", "6.5", cost_before)
            cost_after = page.locator(".cp-headline-cost .cp-v").inner_text()
            slots_after = page.locator(".cp-headline-slots .cp-v").inner_text()
            page.screenshot(path=str(shots / "3-after-slider.png"), full_page=True)

            assert readout.inner_text() != old_value
            assert cost_after != cost_before
            assert slots_after != slots_before
            page.wait_for_function(f"() => +document.querySelector('.planner-live').dataset.paintedRev > {rev_before}",
                                   timeout=60_000)
            # repainted in place: the same Leaflet map object, the zoom the planner chose kept
            assert page.evaluate("() => document.querySelector('.planner-live').__plannerMap === window.__firstMap")
            assert page.evaluate("() => window.__firstMap.getZoom()") == zoom_before
            assert page.locator(".planner-live path.planner-district").count() == 117
            # the step's numbers reached every district's popup (sent as one column, not per district)
            targets = page.evaluate("() => { const out = []; window.__firstMap.eachLayer((l) => {"
                                    " const v = l.feature && l.feature.properties.v;"
                                    " if (v && !Array.isArray(v)) { out.push(v.target_childcare_per_1000); } });"
                                    " return out; }")
            assert len(targets) == 117 and set(targets) == {6.5}
            assert page.locator(".cp-error").count() == 0, page.locator(".cp-error").first.inner_text()
            assert outside == [], f"requests left localhost: {outside[:5]}"
        except Exception:
            if page is not None:
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(shots / "failure.png"), full_page=True)
            print(f"screenshots in {shots}; server log:\n{log.read_text()[-4000:]}")
            raise
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.slow
def test_voila_dashboard_shows_the_app_and_its_map(tmp_path):
    """`make dashboard`: Voila runs the planner notebook and shows the app without code."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with voila(tmp_path) as (url, log), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1300})
            outside = keep_local(page, url)  # a government network has no internet: nothing may be asked of it
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url, wait_until="domcontentloaded")
            try:
                _wait_idle(page, 240_000)
                _wait_map(page, 60_000)
                assert "PlannerApp(" not in page.locator("body").inner_text()   # no code shown
                assert "亿元" in page.locator(".cp-headline-cost .cp-v").inner_text()
                page.locator(".planner-live path.planner-district").first.wait_for(state="attached", timeout=60_000)
                # the map is zoomed onto Shanxi
                zoom = page.evaluate("() => document.querySelector('.planner-live').__plannerMap.getZoom()")
                assert 5 <= zoom <= 9, zoom
                # show by level = prefecture: the 11 prefectures outlined and named
                page.locator(".cp-view-level select").select_option(label="市")
                page.wait_for_function("() => document.querySelector('.planner-live').dataset.level === 'prefecture'",
                                       timeout=60_000)
                assert page.locator(".planner-live path.planner-level").count() == 11
                names = page.locator(".planner-live .planner-level-name span")
                assert names.count() == 11 and "太原市" in names.all_inner_texts()
                page.locator(".cp-view-level select").select_option(index=0)   # back to the counties
                page.wait_for_function("() => document.querySelector('.planner-live').dataset.level === ''",
                                       timeout=60_000)
                assert page.locator(".planner-live path.planner-level").count() == 0
                assert page.locator(".planner-live .planner-level-name").count() == 0
                _wait_idle(page, 60_000)
                # a region switch fits the map to the region (taiyuan: 10 districts, zoomed further in)
                rev = _live_rev(page)
                page.locator(".cp-level select").select_option(label="地市")
                page.locator(".cp-region select").select_option(label="太原市")
                page.wait_for_function(f"() => +document.querySelector('.planner-live').dataset.paintedRev > {rev}",
                                       timeout=120_000)
                _wait_idle(page, 120_000)
                assert page.locator(".planner-live path.planner-district").count() == 10
                zoomed = page.evaluate("() => document.querySelector('.planner-live').__plannerMap.getZoom()")
                assert zoomed >= zoom + 1.5, (zoom, zoomed)
                assert "太原市" in page.locator(".cp-subtitle").inner_text()
                assert page.locator(".planner-label").count() >= 5      # district names at this zoom
                assert "SYNTHETIC" in page.locator(".planner-live .leaflet-control-attribution").inner_text()
                # the reach layer: area values are sent when it is shown, drawn as squares with their legend
                rev = _live_rev(page)
                page.locator(".planner-live-access_childcare input").check()
                page.wait_for_function(f"() => +document.querySelector('.planner-live').dataset.paintedRev > {rev}",
                                       timeout=60_000)
                assert page.locator(".planner-live-legend .planner-legend-access").is_visible()
                page.locator(".planner-live-access_childcare input").uncheck()
                # a district popup fits its card
                page.locator(".planner-live path.planner-district").nth(3).click(force=True)
                pop = page.locator(".leaflet-popup-content").first
                pop.wait_for(state="visible", timeout=30_000)
                fits = pop.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
                assert fits, pop.evaluate("e => [e.scrollWidth, e.clientWidth]")
                # the sandbox: /etc/passwd is refused; Export offers downloads
                page.locator(".cp-app .jupyter-widget-Collapse-header").first.click()
                box = page.locator(".cp-load-path input").first
                box.fill("/etc/passwd")
                page.locator(".cp-app button.cp-load").first.click()
                page.wait_for_selector(".cp-error", timeout=60_000)
                assert "/etc/passwd" in page.locator(".cp-error").inner_text()
                assert "root:" not in page.locator("body").inner_text()
                page.locator(".cp-app .jupyter-widget-Collapse-header").nth(1).click()
                page.locator(".cp-app button.cp-export").click()
                page.wait_for_selector("a.cp-download", timeout=120_000)
                assert page.locator("a.cp-download").count() == 3
                assert errors == [], errors
                # the buttons' icons come from Voila's own Font Awesome, not the CDN its template links
                icon = page.locator(".cp-app button i.fa").first
                assert "Font Awesome" in icon.evaluate("e => getComputedStyle(e, '::before').fontFamily")
                page.wait_for_function("() => [...document.fonts].some(f => f.family.includes('Font Awesome')"
                                       " && f.status === 'loaded')", timeout=30_000)
                assert icon.bounding_box()["width"] > 0
                assert outside == []
            except Exception:
                page.screenshot(path=str(tmp_path / "voila-failure.png"), full_page=True)
                print(f"screenshot in {tmp_path}; voila log:\n{log.read_text()[-4000:]}")
                raise
        finally:
            browser.close()


def _stop(proc) -> None:
    """End a server started in its own process group: TERM, then KILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_make_lab_works_as_root_and_as_a_user():
    """Jupyter refuses root without --allow-root; `make lab` must start either way."""
    out = subprocess.run(["make", "-n", "lab", "VENV=.venv"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    line = [x for x in out.stdout.splitlines() if "jupyter lab" in x]
    assert line, out.stdout + out.stderr
    assert ("--allow-root" in line[-1]) == (os.geteuid() == 0)
