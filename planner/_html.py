"""Self-contained HTML for folium maps: one file that works with the network off.

folium renders ``<script src>`` and ``<link href>`` tags that point at CDNs.
Planners e-mail the map to colleagues on offline government networks, so
:func:`standalone_html` swaps every such tag for the same file vendored in
``planner/static/`` (inlined; images referenced by CSS become ``data:`` URIs),
drops the libraries our maps never use, and raises :class:`OfflineHTMLError`
for anything it does not know. A folium upgrade that changes a CDN URL
therefore fails loudly instead of silently loading from the internet.

Maps must be built without a tile layer: ``folium.Map(tiles=None, ...)``.
Use :func:`add_attribution` for source notes, and :func:`escape_text` for
any user text shown in tooltips and popups.
"""

from __future__ import annotations

import base64
import functools
import html
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import folium
from branca.element import MacroElement
from folium.template import Template

from planner._errors import PlannerError

__all__ = [
    "InlineData",
    "OfflineHTMLError",
    "add_attribution",
    "escape_text",
    "script_safe",
    "standalone_html",
    "write_html_atomic",
]


class OfflineHTMLError(PlannerError):
    """The rendered map would still load something from the network."""


class InlineData(MacroElement):
    """``var <name> = <JSON>;`` for data that several layers share.

    The JSON (e.g. from :func:`json.dumps`) is data, not code, and it is most
    of a map's bytes. :func:`standalone_html` therefore checks
    the document with a short placeholder in its place and pastes the JSON in
    afterwards: the check stays fast, and a place named e.g. ``fetch(`` cannot
    make it refuse the map. User text inside must still be escaped for the
    HTML it ends up in (:func:`escape_text`).
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.placeholder }};
        {% endmacro %}
    """)

    def __init__(self, json_text: str, name: str = "PlannerData"):
        super().__init__()
        self._name = name
        self.json = script_safe(json_text)

    @property
    def placeholder(self) -> str:
        return f"/*planner-data:{self.get_name()}*/null"


def script_safe(json_text: str) -> str:
    """JSON text made safe to paste into a ``<script>``.

    ``<`` only occurs inside JSON strings, where ``\\u003c`` means the same, so
    no ``</script>`` gets out; U+2028/U+2029 end a line in older JavaScript.
    """
    return json_text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


@dataclass(frozen=True)
class _Vendored:
    path: str  # relative to planner/static
    package: str  # npm package@version the file was copied from


# Exact CDN URLs that folium 0.20 / branca 0.8 emit for the features we use.
# Exact matching is deliberate: a new folium that bumps a version must fail
# here until someone vendors the matching file (see planner/static/README.md).
_VENDORED: dict[str, _Vendored] = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js":
        _Vendored("leaflet/leaflet.js", "leaflet@1.9.3"),
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css":
        _Vendored("leaflet/leaflet.css", "leaflet@1.9.3"),
    # folium.Popup builds its content with $(`...`)[0]; Map uses $(document).ready
    "https://code.jquery.com/jquery-3.7.1.min.js":
        _Vendored("jquery/jquery.min.js", "jquery@3.7.1"),
    # branca's colormap legend is drawn with d3 v3
    "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js":
        _Vendored("d3/d3.min.js", "d3@3.5.5"),
    # folium.plugins.Fullscreen; the npm package ships the unminified file
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js":
        _Vendored("leaflet.fullscreen/Control.FullScreen.js", "leaflet.fullscreen@3.0.0"),
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css":
        _Vendored("leaflet.fullscreen/Control.FullScreen.css", "leaflet.fullscreen@3.0.0"),
}

# Loaded by folium's default template but unused by our maps (polygons,
# circle markers, layer control, legend). Each entry names the library and,
# where one exists, a pattern in the map's own scripts that means the
# library is needed after all; then we refuse rather than ship a broken map.
_DROPPED: dict[str, tuple[str, re.Pattern[str] | None]] = {
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js":
        ("Bootstrap JS", re.compile(r"\bbootstrap\.[A-Z]")),
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css":
        ("Bootstrap CSS", None),
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css":
        ("Bootstrap glyphicons", None),
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css":
        ("Font Awesome", None),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js":
        ("Leaflet.awesome-markers (folium.Icon)", re.compile(r"\bL\.AwesomeMarkers\b")),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css":
        ("Leaflet.awesome-markers CSS", None),
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css":
        ("folium awesome-marker rotation CSS", None),
}

# Things in the map's own scripts that fetch at run time. Vendored libraries
# are not scanned (jQuery and d3 contain XHR code we never call).
_NETWORK_JS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bL\.tileLayer\b"),
     "a tile layer (build the map with folium.Map(tiles=None, ...))"),
    (re.compile(r"(?:\$|\bjQuery)\.(?:ajax|get|getJSON|getScript|post|load)\s*\("),
     "a jQuery request (e.g. GeoJson given a URL or embed=False)"),
    (re.compile(r"\bfetch\s*\(|\bXMLHttpRequest\b|\bWebSocket\b|\bEventSource\b|\bsendBeacon\b"),
     "a fetch/XHR/socket call"),
    (re.compile(r"\bd3\.(?:json|csv|tsv|xml|text|html|xhr)\s*\("), "a d3 request"),
    (re.compile(r"\bimport(?:Scripts)?\s*\(|^\s*import\s[^;]*\bfrom\b", re.M),
     "a JavaScript module import"),
    (re.compile(r"""\b(?:src|srcset|poster|data)\s*=\s*\\?["'`]?\s*(?:https?:)?//""", re.I),
     "an element whose src points at the network (in tooltip/popup HTML?)"),
    (re.compile(r"""url\(\s*\\?["']?\s*(?:https?:)?//|@import""", re.I),
     "a CSS url()/@import pointing at the network"),
    (re.compile(r"""\bL\.(?:imageOverlay|videoOverlay)\(\s*["'`](?:https?:)?//"""),
     "an image/video overlay loaded from a URL"),
]

# Attributes that make a browser load something. <a href> only navigates
# when clicked, so it is allowed (it cannot fire while the map loads).
_LOADING_ATTRS = {"src", "srcset", "data", "poster", "background", "action",
                  "formaction", "xlink:href", "href", "manifest", "ping"}
_NAVIGATION_TAGS = {"a", "area"}
_LOCAL_VALUE = re.compile(r"^\s*(?:data:|#|about:blank\s*$)", re.I)
_CSS_URL = re.compile(r"""url\(\s*(["']?)(.*?)\1\s*\)""", re.I)
_SCRIPT_TAG = re.compile(
    r"""<script\b[^>]*?\bsrc\s*=\s*(["'])(?P<url>[^"']*)\1[^>]*>\s*</script\s*>""",
    re.I,
)
_LINK_TAG = re.compile(r"""<link\b[^>]*?\bhref\s*=\s*(["'])(?P<url>[^"']*)\1[^>]*>""", re.I)
_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif",
         ".jpg": "image/jpeg", ".woff2": "font/woff2", ".woff": "font/woff"}


def standalone_html(fmap: folium.Map) -> str:
    """Render a folium map as one HTML document that needs no network.

    Parameters
    ----------
    fmap : folium.Map
        The map, built with ``tiles=None`` (there are no offline tiles).

    Returns
    -------
    str
        The complete HTML document, with Leaflet, jQuery, d3 and the
        Fullscreen plugin inlined from ``planner/static/`` (about 450 kB
        plus the map's own data).

    Raises
    ------
    OfflineHTMLError
        If the rendered map references a resource that is neither vendored
        nor known to be unused (e.g. after a folium upgrade, a tile layer,
        a plugin we have not vendored, or ``folium.Icon`` markers), or if
        its scripts would fetch something at run time. The message lists
        every offending URL or construct.
    """
    root = fmap.get_root()
    document = root.render()

    # Swap known tags for placeholders first, then check what is left, so the
    # check never has to look inside the (large, trusted) vendored files.
    inlined: list[str] = []
    dropped: list[str] = []

    def swap(match: re.Match[str], kind: str) -> str:
        url = html.unescape(match.group("url")).strip()
        if url in _VENDORED:
            inlined.append(_inline(_VENDORED[url], kind))
            return f"<!--planner-asset:{len(inlined) - 1}-->"
        if url in _DROPPED:
            dropped.append(url)
            return ""
        return match.group(0)  # unknown: left in place, reported below

    document = _SCRIPT_TAG.sub(lambda m: swap(m, "js"), document)
    document = _LINK_TAG.sub(
        lambda m: swap(m, "css") if _is_stylesheet(m.group(0)) else m.group(0), document
    )

    scan = _scan(document)
    problems = _network_problems(scan)
    for url in dropped:
        library, needed = _DROPPED[url]
        if needed is not None and any(needed.search(s) for s in scan.scripts):
            problems.append(
                f"{library} is not vendored but the map uses it ({needed.pattern!r}); "
                "use CircleMarker/DivIcon or vendor it in planner/static/"
            )
    if problems:
        raise OfflineHTMLError(
            "the map would still load from the network, refusing to write it:\n  - "
            + "\n  - ".join(dict.fromkeys(problems))
        )

    for data in _inline_data(root):
        document = document.replace(data.placeholder, data.json, 1)
    for i, block in enumerate(inlined):
        # str.replace, not re.sub: vendored text is full of backslashes
        document = document.replace(f"<!--planner-asset:{i}-->", block, 1)
    return document


def write_html_atomic(text: str, path: str | os.PathLike[str],
                      protect: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Write text to ``path`` atomically (temp file + ``os.replace``).

    Readers see either the old file or the complete new one, never half a
    map; a failed write leaves no temp file behind.

    Parameters
    ----------
    text : str
        The document, written as UTF-8.
    path : str or os.PathLike
        Destination; its directory must exist.
    protect : iterable of str or os.PathLike, optional
        Input files that must never be overwritten (e.g. the scenario's
        data files), compared after resolving symlinks and ``..``.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    PlannerError
        If ``path`` is one of ``protect``.
    OSError, UnicodeEncodeError
        If the write fails; the destination is then left untouched.
    """
    from .io import write_text_atomic

    return write_text_atomic(text, path, protect)


def escape_text(text: object) -> str:
    """Escape user text for a folium tooltip, popup or GeoJson property.

    ``html.escape`` is not enough for folium: ``Tooltip`` and ``Popup`` paste
    their text into a JavaScript template literal, where a backtick, ``${``
    or a backslash would break out or run code, and folium re-renders scripts
    as Jinja templates, where ``{{ … }}`` would run in Python. Those become
    HTML entities too, which the browser shows as the original characters.

    Parameters
    ----------
    text : object
        Any value; converted with ``str``.

    Returns
    -------
    str
        Text safe to hand to ``folium.Tooltip(text)``,
        ``folium.Popup(text)`` (default ``parse_html=False``) and to
        GeoJson properties shown by ``GeoJsonTooltip``/``GeoJsonPopup``.
    """
    escaped = html.escape(str(text), quote=True)
    # folium/branca re-render every script as a Jinja template: braces in user
    # text would be evaluated in Python, so they become entities as well.
    for char, entity in (("\\", "&#92;"), ("`", "&#96;"), ("$", "&#36;"), ("{", "&#123;"), ("}", "&#125;")):
        escaped = escaped.replace(char, entity)
    return escaped


class _Attribution(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
            if ({{ this._parent.get_name() }}.attributionControl) {
                {{ this._parent.get_name() }}.attributionControl.addAttribution(
                    {{ this.text|tojson }});
            }
        {% endmacro %}
        """
    )

    def __init__(self, text: str):
        super().__init__()
        self._name = "Attribution"
        self.text = text


def add_attribution(fmap: folium.Map, text: str) -> folium.Map:
    """Add a plain-text source note to the map's attribution corner.

    Without a tile layer ``folium.Map(attr=...)`` shows nothing, so data
    sources (e.g. "边界: 2020 年人口普查") are added here. The text is
    escaped: links and markup are shown literally, never loaded.

    Parameters
    ----------
    fmap : folium.Map
        The map to annotate (modified in place).
    text : str
        The note, plain text.

    Returns
    -------
    folium.Map
        ``fmap``, for chaining.
    """
    _Attribution(escape_text(text)).add_to(fmap)
    return fmap


# --- internals -------------------------------------------------------------

def _static_root() -> Path:
    return Path(str(resources.files("planner") / "static"))


@functools.lru_cache(maxsize=None)
def _inline(asset: _Vendored, kind: str) -> str:
    source = _static_root() / asset.path
    text = source.read_text(encoding="utf-8")
    note = f"planner/static/{asset.path} ({asset.package}, vendored; see planner/static/README.md)"
    if kind == "css":
        text = _css_with_data_uris(text, source.parent)
        # "</style" inside CSS would end the element early
        text = re.sub(r"</(style)", r"<\\/\1", text, flags=re.I)
        return f"<style>/* {note} */\n{text}\n</style>"
    # "</script" would end the element early; "<\/" means the same in JS
    # strings and regexes, the only places it can occur in these files.
    text = re.sub(r"</(script)", r"<\\/\1", text, flags=re.I)
    block = f"<script>/* {note} */\n{text}\n</script>"
    if asset.path == "leaflet/leaflet.js":
        block += _leaflet_icon_shim()
    return block


def _css_with_data_uris(css: str, base: Path) -> str:
    root = _static_root().resolve()

    def repl(m: re.Match[str]) -> str:
        ref = m.group(2).strip()
        if _LOCAL_VALUE.match(ref):
            return m.group(0)  # data: URIs and IE's url(#default#VML)
        file = (base / ref).resolve()
        if root not in file.parents or not file.is_file():
            raise OfflineHTMLError(f"vendored CSS in {base} refers to {ref!r}, not in planner/static/")
        return f'url("{_data_uri(file)}")'

    return _CSS_URL.sub(repl, css)


@functools.lru_cache(maxsize=None)
def _leaflet_icon_shim() -> str:
    # Leaflet finds marker images via a path next to leaflet.css; inlined,
    # there is none, so default folium.Marker icons would be broken images.
    images = _static_root() / "leaflet" / "images"
    return (
        "<script>/* planner: default marker icons as data: URIs */\n"
        'L.Icon.Default.imagePath = "";\n'
        "L.Icon.Default.mergeOptions({"
        f'iconUrl: "{_data_uri(images / "marker-icon.png")}", '
        f'iconRetinaUrl: "{_data_uri(images / "marker-icon-2x.png")}", '
        f'shadowUrl: "{_data_uri(images / "marker-shadow.png")}"'
        "});\n</script>"
    )


def _data_uri(file: Path) -> str:
    mime = _MIME.get(file.suffix.lower())
    if mime is None:
        raise OfflineHTMLError(f"no MIME type known for vendored file {file.name}")
    return f"data:{mime};base64,{base64.b64encode(file.read_bytes()).decode('ascii')}"


def _is_stylesheet(tag: str) -> bool:
    return re.search(r"""\brel\s*=\s*["']?[^"'>]*\bstylesheet\b""", tag, re.I) is not None


class _Scan(HTMLParser):
    """Collect loading attributes, inline styles and script bodies."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str, str]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name == "style":
                self.styles.append(value)
            elif name in _LOADING_ATTRS and not (name == "href" and tag in _NAVIGATION_TAGS):
                self.refs.append((tag, name, value))
        self._in = tag if tag in ("script", "style") else None

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)


def _scan(document: str) -> _Scan:
    scan = _Scan()
    scan.feed(document)
    scan.close()
    return scan


def _inline_data(element) -> list[InlineData]:
    found, stack = [], [element]
    while stack:
        e = stack.pop()
        if isinstance(e, InlineData):
            found.append(e)
        stack.extend(getattr(e, "_children", {}).values())
    return found


def _network_problems(scan: _Scan) -> list[str]:
    problems = []
    for tag, attr, value in scan.refs:
        if not _LOCAL_VALUE.match(value):
            # relative paths too: the file must stand alone when e-mailed
            problems.append(f"<{tag} {attr}={value!r}> is not vendored in planner/static/")
    for style in scan.styles:
        for m in _CSS_URL.finditer(style):
            if not _LOCAL_VALUE.match(m.group(2)):
                problems.append(f"CSS url({m.group(2)!r}) in the map's own styles")
        if "@import" in style:
            problems.append("a CSS @import in the map's own styles")
    for script in scan.scripts:
        for pattern, what in _NETWORK_JS:
            m = pattern.search(script)
            if m:
                start = max(m.start() - 40, 0)
                snippet = " ".join(script[start:m.end() + 40].split())
                problems.append(f"{what}: …{snippet}…")
    return problems
