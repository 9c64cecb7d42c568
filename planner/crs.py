"""Coordinate systems of input tables: GCJ-02, BD-09, WGS84 or any EPSG code → WGS84.

Facility lists scraped from Amap (高德), Tencent or Baidu maps are not in
WGS84: GCJ-02 (国测局坐标, "Mars coordinates") shifts points by a few hundred
metres, BD-09 (百度坐标) shifts GCJ-02 again. Those shifts are published
obfuscation formulas, not datums, so PROJ (pyproj) has no definition for them;
the Python packages that implement them (coord-convert, eviltransform,
prcoords) are unmaintained since 2018–2019 and work point by point. This
module is the small vectorised version, checked in ``tests/test_crs.py``
against published reference points (Amap's coordinate-convert API example,
Beijing railway station in all three systems). EPSG codes go through pyproj.

A leaf module: numpy and pyproj only.
"""

from __future__ import annotations

import numpy as np

#: Names accepted for a table's ``crs`` (case-insensitive), besides ``EPSG:n`` / a bare integer.
CHINESE = {"gcj02": "gcj02", "gcj-02": "gcj02", "gcj": "gcj02", "amap": "gcj02", "高德": "gcj02",
           "火星坐标": "gcj02", "bd09": "bd09", "bd-09": "bd09", "baidu": "bd09", "百度": "bd09"}
WGS84 = {"wgs84", "wgs-84", "wgs 84", "epsg:4326", "4326", "crs84", "ogc:crs84"}

_A = 6378245.0                      # Krasovsky 1940 semi-major axis used by GCJ-02, metres
_EE = 0.00669342162296594323        # its eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0      # BD-09's rotation constant


def _gcj_offset(lon, lat):
    """Offset (dlon, dlat) in degrees that GCJ-02 adds to WGS84 coordinates."""
    x = lon - 105.0
    y = lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y
            + 0.2 * np.sqrt(np.abs(x)))
    dlat += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y
            + 0.1 * np.sqrt(np.abs(x)))
    dlon += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat):
    """WGS84 → GCJ-02 degrees (arrays or scalars). Applied everywhere, also outside China."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84_lonlat(lon, lat, iterations: int = 6):
    """GCJ-02 → WGS84 degrees: the forward offset inverted by fixed-point iteration (< 1 mm after 6)."""
    g_lon, g_lat = np.asarray(lon, float), np.asarray(lat, float)
    lon, lat = g_lon.copy(), g_lat.copy()
    for _ in range(iterations):
        dlon, dlat = _gcj_offset(lon, lat)
        lon = g_lon - dlon
        lat = g_lat - dlat
    return lon, lat


def gcj02_to_wgs84(coords):
    """GCJ-02 → WGS84 for an (N, 2) lon/lat array (the signature ``shapely.transform`` calls)."""
    coords = np.asarray(coords, dtype=float)
    lon, lat = gcj02_to_wgs84_lonlat(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def bd09_to_gcj02(lon, lat):
    """BD-09 → GCJ-02 degrees (Baidu's published inverse)."""
    x, y = np.asarray(lon, float) - 0.0065, np.asarray(lat, float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 → BD-09 degrees."""
    x, y = np.asarray(lon, float), np.asarray(lat, float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_wgs84_lonlat(lon, lat):
    """BD-09 → WGS84 degrees (through GCJ-02)."""
    return gcj02_to_wgs84_lonlat(*bd09_to_gcj02(lon, lat))


def parse(crs):
    """A table's ``crs`` setting → ``"wgs84"``, ``"gcj02"``, ``"bd09"`` or a ``pyproj.CRS``.

    Raises ValueError with the accepted names when ``crs`` is not understood.
    """
    if crs is None:
        return "wgs84"
    if isinstance(crs, (int, np.integer)) and not isinstance(crs, bool):
        crs = f"EPSG:{int(crs)}"
    text = str(crs).strip()
    key = text.lower()
    if key in WGS84:
        return "wgs84"
    if key in CHINESE:
        return CHINESE[key]
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        out = CRS.from_user_input(int(text) if text.isdigit() else text)
    except CRSError:
        raise ValueError(f"unknown coordinate system {crs!r}; use wgs84, gcj02 (Amap/Tencent), "
                         "bd09 (Baidu) or an EPSG code such as EPSG:4547") from None
    return "wgs84" if out.equals("EPSG:4326") else out


def to_wgs84_lonlat(x, y, crs):
    """Coordinates in ``crs`` (as :func:`parse` returns or accepts) → WGS84 lon, lat arrays."""
    crs = parse(crs) if not hasattr(crs, "to_epsg") else crs
    x, y = np.asarray(x, float), np.asarray(y, float)
    if isinstance(crs, str):
        if crs == "gcj02":
            return gcj02_to_wgs84_lonlat(x, y)
        if crs == "bd09":
            return bd09_to_wgs84_lonlat(x, y)
        return x, y
    from pyproj import Transformer

    return Transformer.from_crs(crs, 4326, always_xy=True).transform(x, y)


def transform_coords(crs):
    """A function (N, 2) array → (N, 2) array in WGS84, for ``shapely.transform``."""
    def f(coords):
        lon, lat = to_wgs84_lonlat(coords[:, 0], coords[:, 1], crs)
        return np.column_stack([lon, lat])
    return f
