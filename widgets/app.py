"""PlannerApp: the JupyterLab app planners use without reading code.

Data flows one way: the controls edit a copy of the scenario →
:func:`planner.solve` → :class:`planner.Result` → headline, tables and map.
Solves run in a worker thread so the notebook stays responsive; one runs at a
time, and a change made during a solve triggers exactly one more solve with
the latest values once it finishes.
"""

from __future__ import annotations

from pathlib import Path
import os
import tempfile
import threading
import time

import ipywidgets as w
import yaml

import planner
from planner.io import READERS
from planner import i18n
from planner.maps import attribution_text

from . import views
from .controls import Controls
from .livemap import LiveMap

__all__ = ["PlannerApp"]

UPLOAD_TYPES = ",".join([".yaml", ".yml", *READERS])  # every table format planner.io reads
#: Export file names (in the chosen folder).
EXPORT_NAMES = {"map": "map.html", "excel": "plan.xlsx", "geopackage": "plan.gpkg"}


class PlannerApp(w.AppLayout):
    """The planner as an ipywidgets AppLayout: controls left, results right.

    Parameters
    ----------
    scenario : planner.Scenario, str or path, optional
        What to plan; a path is read with :func:`planner.load_scenario`.
        Default: the Shanxi demo.
    lang : {"zh", "en"}
        Language of every label, table and the map (switchable in the app).
    solve : bool or "background"
        ``True`` (default): solve once before the app is shown, so it opens
        complete (and Voila, which shows the state at the end of the cell,
        never sees it half-drawn). ``"background"``: start that solve in the
        background instead. ``False``: wait for the Solve button.
    map_height_px : int
        Height of the map.
    sandbox : str or path, optional
        A folder: "Load my data" then reads only uploads and files inside it
        (any other path is refused with a message and never opened, nor are
        files a scenario YAML names outside it), and Export writes only
        inside it and offers the files as downloads. Default: the
        ``CARE_PLANNER_SANDBOX`` environment variable; under Voila, without
        it, ``planner_files/`` beside the notebook. ``False``: no sandbox.

    Attributes
    ----------
    controls : planner.widgets.Controls
        Sliders, budget, region, options and language.
    result : planner.Result or None
        The last plan shown.
    error : Exception or None
        The last error shown (cleared by the next success).
    timings : dict
        Seconds of the last solve: ``solve`` (planner.solve), ``map``
        (the live map's changed values), ``render`` (headline and the tab in
        view), ``total`` (from the request, e.g. a slider change, to all of it
        sent to the browser).
    live_map : planner.widgets.LiveMap
        The map: geometry sent once, then only changed values per solve.

    Examples
    --------
    >>> app = PlannerApp(planner.load_demo("shanxi"))      # doctest: +SKIP
    >>> app.controls.sliders["childcare_per_1000"].value = 6
    >>> res = app.wait()             # the change started a solve; wait for it
    >>> app.export("out/")           # map.html, plan.xlsx, plan.gpkg
    """

    def __init__(self, scenario=None, *, lang: str = "zh", solve: bool | str = True, map_height_px: int = 620,
                 sandbox=None, **kwargs):
        self.sandbox = _sandbox_folder(sandbox)
        if scenario is None:
            scenario = planner.load_demo("shanxi")
        elif isinstance(scenario, (str, os.PathLike)):
            scenario = planner.load_scenario(scenario)
        controls = Controls(scenario, lang)
        parts = _Parts(controls, map_height_px)
        super().__init__(header=parts.header, left_sidebar=parts.sidebar, center=parts.center,
                         right_sidebar=None, footer=parts.footer, pane_widths=("400px", 1, "0px"),
                         pane_heights=("90px", 1, "40px"), grid_gap="6px", **kwargs)
        self.add_class("cp-app")
        self.controls = controls
        if self.sandbox is not None:
            parts.export_folder.value = str(self.sandbox / "export")
            parts.load_path.placeholder = str(self.sandbox / "my_county.yaml")
        self._parts = parts
        self.result = None
        self.error = None
        self.timings: dict = {}
        self.live_map = parts.live_map
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._running = False
        self._want: set[str] = set()
        self._requested_at = None
        self._stale_tabs: set[int] = set()
        self._map_year = None  # the phased year the live map shows

        controls.on_change(self._on_controls)
        parts.tabs.observe(self._on_tab, "selected_index")
        controls.solve_button.on_click(lambda _: self.solve())
        p = parts
        for wid in (p.sort_by, p.descending, p.only_missed):
            wid.observe(lambda _: self._render_districts(), "value")
        p.state.observe(lambda _: self._render_facilities(), "value")
        p.export_button.on_click(lambda _: self.export())
        p.load_button.on_click(lambda _: self.load(p.load_path.value))
        p.upload_button.on_click(lambda _: self.load_files(p.upload.value))
        self._relabel()
        self._render_all(with_map=False)
        if solve:
            self.solve(wait=solve != "background")

    # ------------------------------------------------------------ public API

    @property
    def lang(self) -> str:
        """The language shown (``"zh"`` or ``"en"``)."""
        return self.controls.language

    @property
    def busy(self) -> bool:
        """True while a solve (or a re-render) is running."""
        return self._running

    def scenario(self):
        """The scenario the controls describe now (a new copy each call)."""
        return self.controls.scenario()

    def solve(self, wait: bool = False, timeout: float | None = None):
        """Solve with the controls' current values, in the background.

        If a solve is already running, nothing new starts: one more solve is
        queued and runs, with the values at that time, when this one ends.

        Parameters
        ----------
        wait : bool
            Block until every queued solve is done and return the Result.
        timeout : float, optional
            Seconds to wait at most (``TimeoutError`` after).
        """
        self._request("solve")
        if wait:
            return self.wait(timeout)
        return None

    def wait(self, timeout: float | None = None):
        """Block until no solve is running or queued; return :attr:`result`.

        Raises ``TimeoutError`` if still busy after ``timeout`` seconds. A
        failed solve does not raise: see :attr:`error`.
        """
        if not self._idle.wait(timeout):
            raise TimeoutError(f"the planner was still solving after {timeout} s")
        return self.result

    def set_scenario(self, scenario, solve: bool = True) -> None:
        """Plan a different scenario: controls take its targets and regions."""
        self.wait()
        self.controls.set_scenario(scenario)
        self.result = None
        self._clear_error()
        self._show_scenario_note()
        p = self._parts
        old = p.live_map
        p.live_map = LiveMap(scenario, lang=self.lang, height_px=p.map_height_px)  # the new geometry, sent once
        p.live_map.add_class("cp-map")
        self.live_map = p.live_map
        p.tabs.children = (p.live_map,) + tuple(p.tabs.children[1:])
        old.close()
        self._relabel()
        self._render_all(with_map=False)
        if solve:
            self.solve()

    def load(self, path):
        """Read a scenario YAML (and the files it names) from the server's disk; errors show in the app.

        Returns the new scenario, or None if it could not be read.
        """
        self._status("w_status_loading", busy=True)
        try:
            path = self._inside_sandbox(str(path).strip(), "w_sandbox_refused")
            if self.sandbox is not None:
                _check_yaml_paths(path, self.sandbox, self.lang)
            sc = planner.load_scenario(path)
        except Exception as exc:  # noqa: BLE001 - every failure is shown, none is swallowed
            self._fail(exc)
            return None
        self.set_scenario(sc)
        return sc

    def load_files(self, files):
        """Load uploaded files: a scenario YAML with the tables it names, or the tables alone.

        Parameters
        ----------
        files : FileUpload value, or mapping of file name → bytes
            Without a YAML, tables are recognised by name: ``areas…``,
            ``facilities…`` and optionally ``districts…`` (or 需求/机构/区县).

        Returns the new scenario, or None (the reason shows in the app).
        """
        items = _upload_items(files)
        if not items:
            self._fail(planner.PlannerError(i18n.t("w_upload_none", self.lang)))
            return None
        self._status("w_status_loading", busy=True)
        folder = Path(tempfile.mkdtemp(prefix="care_planner_upload_"))
        try:
            sc = _scenario_from_uploads(items, folder, self.lang, confine=self.sandbox is not None)
        except planner.PlannerError as exc:
            if exc.file and str(exc.file).startswith(str(folder)):
                exc.file = os.path.relpath(exc.file, folder)  # the user's own file name, not our temp path
            self._fail(exc)
            return None
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            return None
        self._parts.upload.value = ()
        self.set_scenario(sc)
        return sc

    def export(self, folder=None) -> dict | None:
        """Write the map (HTML), Excel and GeoPackage of the current plan into ``folder``.

        ``folder`` defaults to the Export field. Returns ``{"map"|"excel"|"geopackage": Path}``
        (also shown in the app), or None if there is no plan or writing failed.
        """
        p = self._parts
        if folder is not None:
            p.export_folder.value = str(folder)
        if self._running:
            p.export_out.value = _note(i18n.t("w_busy", self.lang))
            return None
        if self.result is None:
            p.export_out.value = _note(i18n.t("w_export_first", self.lang))
            return None
        try:
            target = self._inside_sandbox(p.export_folder.value.strip() or ".", "w_sandbox_export_refused")
        except planner.PlannerError as exc:
            self._fail(exc, keep_status=True)
            return None
        p.export_button.disabled = True
        p.export_out.value = _note(i18n.t("w_status_exporting", self.lang))
        try:
            target.mkdir(parents=True, exist_ok=True)
            res, lang = self.result, self.lang
            written = {
                "map": res.to_html(target / EXPORT_NAMES["map"], lang=lang, level=self._view_level()),
                "excel": res.to_excel(target / EXPORT_NAMES["excel"], lang=lang),
                "geopackage": res.to_geopackage(target / EXPORT_NAMES["geopackage"]),
            }
        except Exception as exc:  # noqa: BLE001
            p.export_out.value = ""
            self._fail(exc, keep_status=True)
            return None
        finally:
            p.export_button.disabled = False
        if self.sandbox is not None:  # a dashboard viewer cannot reach the server's disk: hand the files over
            items = "".join(_download_link(Path(path), self.lang) for path in written.values())
        else:
            items = "".join(f"<li><code>{views._esc(path)}</code></li>" for path in written.values())
        p.export_out.value = (f"<div class='cp-export-done'>{views._esc(i18n.t('w_export_done', self.lang))}"
                              f"<ul style='margin:2px 0 0 0;padding-left:18px'>{items}</ul></div>")
        return {k: Path(v) for k, v in written.items()}

    def _inside_sandbox(self, path: str, refusal: str) -> Path:
        """``path`` resolved (relative to the sandbox when there is one); a path outside it is refused
        without being opened."""
        raw = Path(path).expanduser()
        if self.sandbox is None:
            return raw.resolve()
        full = (self.sandbox / raw).resolve() if not raw.is_absolute() else raw.resolve()
        if full != self.sandbox and self.sandbox not in full.parents:
            raise planner.PlannerError(i18n.t(refusal, self.lang).format(folder=self.sandbox, path=path))
        return full

    # ------------------------------------------------------------ the solve loop

    def _request(self, job: str) -> None:
        with self._lock:
            self._want.add(job)
            if self._requested_at is None:
                self._requested_at = time.perf_counter()
            if self._running:
                queued = True
            else:
                queued = False
                self._running = True
                self._idle.clear()
        if queued:
            if job == "solve":
                self._status("w_status_queued", busy=True)
            return
        self._set_busy(True)
        threading.Thread(target=self._work, name="care-planner-solve", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._lock:
                jobs, self._want = self._want, set()
                started = self._requested_at
                self._requested_at = None
                if not jobs:
                    try:
                        self._set_busy(False)
                    finally:
                        self._running = False
                        self._idle.set()
                    return
            try:
                if "solve" in jobs:
                    self._solve_once(started)
                else:
                    self._render_all(with_map=True)
            except BaseException as exc:  # noqa: BLE001 - shown in the app, never lost
                self._fail(exc)

    def _solve_once(self, started) -> None:
        started = started or time.perf_counter()
        self._status("w_status_solving", busy=True, step=1)
        t0 = time.perf_counter()
        sc = self.controls.scenario()
        # re-solve from the last plan's solvers when only values moved (same answer, ~2.5x faster)
        res = planner.solve(sc, warm_start=self.result if self.result is not None else True)
        t1 = time.perf_counter()
        self._status("w_status_map", busy=True, step=2)
        self.result = res
        shown = self.shown  # a phased plan: the year chosen
        self.live_map.show(shown, lang=self.lang)  # the map's diff first (the slowest thing to draw), then the figures
        self.live_map.show_level(shown, self._view_level())
        self._map_year = self._year()
        t2 = time.perf_counter()
        self._parts.headline.value = views.headline_html(shown, self.lang, level=self._view_level())
        t3 = time.perf_counter()
        self._render_all(with_map=False)
        self.timings = {"solve": t1 - t0, "map": t2 - t1, "render": t3 - t2, "total": time.perf_counter() - started}
        self._show_scenario_note()
        self._stale_tabs |= {3, 4}
        self._render_tab(self._parts.tabs.selected_index)
        self._clear_error()
        if self.controls.budget_mode.value == "none":
            self.controls.suggest_budget(res.cost, region=self.controls.region_key())
        self._status("w_status_done", busy=True, step=3,
                     solve=f"{self.timings['solve']:.1f}", map=f"{self.timings['map']:.1f}")

    # ------------------------------------------------------------ rendering

    @property
    def shown(self):
        """The Result on screen: :attr:`result`, or for a phased plan its year chosen in the controls."""
        res, year = self.result, self._year()
        if res is not None and getattr(res, "per_year", None) is not None and year in res.per_year:
            return res.for_year(year)
        return res

    def _year(self):
        return self.controls.year.value if self.controls.phased else None

    def _render_all(self, with_map: bool) -> None:
        lang = self.lang
        res = self.shown
        if with_map and res is not None and (self.live_map.lang != lang or self._map_year != self._year()):
            self.live_map.show(res, lang=lang)  # labels and popups in the new language, or another year
            self._map_year = self._year()
        if with_map:
            self.live_map.show_level(res, self._view_level())  # the level's outlines and figures
        self._parts.headline.value = views.headline_html(res, lang, level=self._view_level())
        # only the tab in view is drawn now; the others when opened (their HTML is most of a step's bytes)
        self._stale_tabs = {1, 2, 3, 4}
        self._render_tab(self._parts.tabs.selected_index)
        self._parts.footer_note.value = _note(attribution_text(res, lang) if res is not None
                                              else self.controls.base.attribution)

    def _render_tab(self, index) -> None:
        if index not in self._stale_tabs:
            return
        self._stale_tabs.discard(index)
        {1: self._render_districts, 2: self._render_facilities, 3: self._render_summary,
         4: self._render_phasing}[index]()

    def _on_tab(self, change) -> None:
        self._render_tab(change["new"])

    def _view_level(self):
        """The level the results are shown at (``None``: the districts themselves)."""
        level = self.controls.view_level.value
        return None if level in (None, "leaf") else level

    def _render_districts(self) -> None:
        p = self._parts
        level = self._view_level()
        for wid in (p.sort_by, p.descending, p.only_missed):  # the level table has its own order
            wid.layout.display = None if level is None else "none"
        if level is not None and self.shown is not None:
            p.districts.value = views.level_html(self.shown, level, self.lang)
            return
        p.districts.value = views.districts_html(self.shown, self.lang, p.sort_by.value, p.descending.value,
                                                 p.only_missed.value)

    def _render_facilities(self) -> None:
        p = self._parts
        p.facilities.value = views.facilities_html(self.shown, self.lang, p.state.value or None)

    def _render_summary(self) -> None:
        self._parts.summary.value = views.summary_html(self.shown, self.lang, self.timings or None)

    def _render_phasing(self) -> None:
        """A phased plan's chart, table by year and missed targets by year (the whole plan, every year)."""
        self._parts.phasing.value = views.phasing_html(self.result, self.lang)

    # ------------------------------------------------------------ state shown

    def _on_controls(self, kind: str) -> None:
        if kind == "lang":
            self._relabel()
            self._request("render")
        elif kind in ("year", "view"):  # a phased plan's year, or another level: the same plan, new map/tables
            self._request("render")
        elif self.controls.auto.value:
            self.solve()
        else:
            self._status("w_status_ready")

    def _set_busy(self, busy: bool) -> None:
        self.controls.solve_button.disabled = busy
        p = self._parts
        p.progress.bar_style = "info" if busy else ("danger" if self.error is not None else "success")
        if busy:
            p.progress.value = 0
        elif self.error is None:
            p.progress.value = p.progress.max
            if self.result is not None and self.timings:
                self._status("w_status_done", solve=f"{self.timings['solve']:.1f}",
                             map=f"{self.timings['map']:.1f}")

    def _status(self, key: str, busy: bool = False, step: int | None = None, **fmt) -> None:
        p = self._parts
        if step is not None:
            p.progress.value = step
        text = i18n.t(key, self.lang).format(**fmt)
        p.status.value = (f"<span class='cp-status' data-busy='{int(busy)}' style='line-height:28px'>"
                          f"{views._esc(text)}</span>")

    def _fail(self, exc: BaseException, keep_status: bool = False) -> None:
        self.error = exc
        p = self._parts
        p.error.value = views.error_html(exc, self.lang)
        p.error.layout.display = None
        p.progress.bar_style = "danger"
        if not keep_status:
            self._status("w_status_failed")

    def _clear_error(self) -> None:
        self.error = None
        self._parts.error.value = ""
        self._parts.error.layout.display = "none"

    def _show_scenario_note(self) -> None:
        # the region planned (after a solve: the chosen prefecture or county, with its own counts)
        sc = self.result.scenario if self.result is not None else self.controls.base
        self._parts.title.value = (
            f"<div style='font-size:19px;font-weight:600'>{views._esc(i18n.t('w_title', self.lang))}</div>"
            f"<div class='cp-subtitle' style='color:#555'>{views._esc(sc.name)} · "
            f"{views._esc(i18n.table_label('districts', self.lang))} {len(sc.districts)} · "
            f"{views._esc(i18n.t('w_intro', self.lang))}</div>")

    def _relabel(self) -> None:
        lang = self.lang
        t = lambda k: i18n.t(k, lang)  # noqa: E731
        p = self._parts
        self._show_scenario_note()
        for i, key in enumerate(("w_tab_map", "w_tab_districts", "w_tab_facilities", "w_tab_summary",
                                 "w_tab_phasing")):
            p.tabs.set_title(i, t(key))
        keep = p.sort_by.value
        p.sort_by.options = [(t("w_sort_shortfall_total") if k == "shortfall_total" else i18n.column_label(k, lang), k)
                             for k in views.DISTRICT_SORTS]
        p.sort_by.value = keep or "shortfall_total"
        p.sort_by.description = t("w_sort_by")
        p.descending.description = t("w_descending")
        p.only_missed.description = t("w_only_missed")
        keep = p.state.value
        p.state.options = [(t("w_all_states"), "")] + [(i18n.state_label(s, lang), s) for s in views.BUILD_STATES]
        p.state.value = keep or ""
        p.state.description = t("w_show")
        p.side_tabs.set_title(0, t("w_load"))
        p.side_tabs.set_title(1, t("w_export"))
        p.export_folder.description = t("w_export_folder")
        p.export_button.description = t("w_export_button")
        p.load_path.description = t("w_load_path")
        p.load_button.description = t("w_load_button")
        p.upload_label.value = _note(t("w_upload"))
        p.upload.description = t("w_upload_choose")
        p.upload_button.description = t("w_upload_button")
        if self.error is not None:
            p.error.value = views.error_html(self.error, lang)


class _Parts:
    """The widgets of the app other than the controls (built once)."""

    def __init__(self, controls: Controls, map_height_px: int):
        self.map_height_px = map_height_px
        self.title = w.HTML()
        self.status = w.HTML()
        self.progress = w.IntProgress(value=0, min=0, max=3, layout=w.Layout(width="160px"))
        self.progress.add_class("cp-progress")
        self.header = w.HBox([w.VBox([self.title, w.HBox([self.progress, self.status])],
                                     layout=w.Layout(flex="1")), controls.lang],
                             layout=w.Layout(align_items="flex-start", padding="2px 4px"))

        self.error = w.HTML(layout=w.Layout(display="none"))
        self.error.add_class("cp-error-box")
        self.headline = w.HTML()
        self.headline.add_class("cp-headline-box")
        self.live_map = LiveMap(controls.base, lang=controls.language, height_px=map_height_px)
        self.live_map.add_class("cp-map")
        self.sort_by = w.Dropdown(style={"description_width": "initial"})
        self.descending = w.Checkbox(value=True, indent=False)
        self.only_missed = w.Checkbox(value=False, indent=False)
        self.districts = w.HTML()
        self.districts.add_class("cp-districts-box")
        self.state = w.Dropdown(style={"description_width": "initial"})
        self.facilities = w.HTML()
        self.facilities.add_class("cp-facilities-box")
        self.summary = w.HTML()
        self.phasing = w.HTML()  # phased plans: chart, table by year, missed targets by year
        self.phasing.add_class("cp-phasing-box")
        self.tabs = w.Tab(children=[
            self.live_map,
            w.VBox([w.HBox([self.sort_by, self.descending, self.only_missed]), self.districts]),
            w.VBox([self.state, self.facilities]),
            self.summary,
            self.phasing,
        ])
        self.tabs.add_class("cp-tabs")
        self.center = w.VBox([self.error, self.headline, self.tabs], layout=w.Layout(min_width="0"))

        self.load_path = w.Text(placeholder="my_county.yaml", style={"description_width": "initial"},
                                layout=w.Layout(width="98%"))
        self.load_button = w.Button(icon="folder-open")
        self.load_button.add_class("cp-load")
        self.load_path.add_class("cp-load-path")
        self.upload_label = w.HTML()
        self.upload = w.FileUpload(accept=UPLOAD_TYPES, multiple=True)
        self.upload_button = w.Button(icon="upload")
        self.export_folder = w.Text(value=str(Path.cwd() / "planner_export"),
                                    style={"description_width": "initial"}, layout=w.Layout(width="98%"))
        self.export_button = w.Button(icon="download")
        self.export_button.add_class("cp-export")
        self.export_out = w.HTML()
        self.side_tabs = w.Accordion(children=[
            w.VBox([self.load_path, self.load_button, self.upload_label,
                    w.HBox([self.upload, self.upload_button])]),
            w.VBox([self.export_folder, self.export_button, self.export_out]),
        ])
        self.sidebar = w.VBox([controls.box, self.side_tabs],
                              layout=w.Layout(overflow="auto", padding="0 6px 0 2px"))
        self.footer_note = w.HTML()
        self.footer = self.footer_note


def _note(text: str) -> str:
    return f"<div class='cp-note' style='font-size:12px;color:#555'>{views._esc(text)}</div>"


# ------------------------------------------------------------------ uploads

def _upload_items(files) -> list[tuple[str, bytes]]:
    """(name, bytes) of each uploaded file, from a FileUpload value or a name → bytes mapping."""
    if not files:
        return []
    if isinstance(files, dict):
        return [(str(k), bytes(v)) for k, v in files.items()]
    return [(str(f["name"]), bytes(f["content"])) for f in files]


_TABLE_WORDS = {"areas": ("area", "需求"), "facilities": ("facilit", "机构"), "districts": ("district", "区县")}


def _sandbox_folder(sandbox) -> Path | None:
    """The sandbox folder (created), from the argument, the environment or Voila; None for none."""
    if sandbox is False:
        return None
    if sandbox is None:
        sandbox = os.environ.get("CARE_PLANNER_SANDBOX") or None
    if sandbox is None and (os.environ.get("VOILA_BASE_URL") is not None
                            or os.environ.get("SERVER_SOFTWARE", "").startswith("voila")):
        sandbox = Path.cwd() / "planner_files"  # a dashboard is never left reading the whole server
    if sandbox is None:
        return None
    folder = Path(sandbox).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _check_yaml_paths(path: Path, folder: Path, lang: str) -> None:
    """Refuse a scenario YAML that names a file outside ``folder`` (before any of them is read)."""
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - load_scenario reports a broken YAML with its line
        return

    def strings(x):
        if isinstance(x, str):
            yield x
        elif isinstance(x, dict):
            for v in x.values():
                yield from strings(v)
        elif isinstance(x, list):
            for v in x:
                yield from strings(v)

    for s in strings(spec):
        if "/" not in s and "\\" not in s and not Path(s).suffix:
            continue  # a word (a name, a mode), not a path
        full = (path.parent / Path(s).expanduser()).resolve()
        if full != folder and folder not in full.parents:
            raise planner.PlannerError(i18n.t("w_sandbox_refused", lang).format(folder=folder, path=s), file=path.name)


def _download_link(path: Path, lang: str) -> str:
    """A link that hands the file to the viewer's browser (data: URI), named like the file."""
    import base64
    import mimetypes

    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    size = path.stat().st_size / 1e6
    return (f"<li><a class='cp-download' download='{views._esc(path.name)}' href='data:{mime};base64,{data}'>"
            f"{views._esc(i18n.t('w_download', lang))} {views._esc(path.name)}</a> ({size:.1f} MB)</li>")


def _scenario_from_uploads(items, folder: Path, lang: str, confine: bool = False):
    """Write uploads into ``folder`` (keeping names) and read them as a scenario.

    ``confine``: an uploaded YAML may name only files among the uploads (inside ``folder``).
    """
    data = {Path(name).name: content for name, content in items}
    for name, content in data.items():
        (folder / name).write_bytes(content)
    yamls = [n for n in data if n.lower().endswith((".yaml", ".yml"))]
    if yamls:
        path = folder / yamls[0]
        try:  # place each table where the YAML names it (e.g. data/areas.csv), if uploaded flat
            spec = yaml.safe_load(data[yamls[0]].decode("utf-8"))
        except Exception:  # noqa: BLE001 - load_scenario reports a broken YAML with its line
            spec = None
        if isinstance(spec, dict):
            for key in ("areas", "facilities", "districts"):
                rel = spec.get(key)
                rel = rel.get("path") if isinstance(rel, dict) else rel  # {path: FILE, crs: gcj02}
                if isinstance(rel, str) and Path(rel).name in data and not (folder / rel).exists():
                    dest = (folder / rel).resolve()
                    if folder.resolve() in dest.parents:
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        dest.write_bytes(data[Path(rel).name])
        if confine:
            _check_yaml_paths(path, folder.resolve(), lang)
        return planner.load_scenario(path)
    found = {}
    for table, words in _TABLE_WORDS.items():
        for name in data:
            if table not in found and any(word in name.lower() for word in words):
                found[table] = name
    if "areas" not in found or "facilities" not in found:
        raise planner.PlannerError(i18n.t("w_upload_which", lang) + f" ({', '.join(sorted(data))})")
    from planner.io import read_file

    frames = {table: read_file(folder / name) for table, name in found.items()}
    return planner.Scenario.from_frames(frames["areas"], frames["facilities"], frames.get("districts"),
                                        name=Path(found["areas"]).stem, sources=found)
