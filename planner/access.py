"""Travel times and reach sets: which facilities an area can use.

Straight line × circuity ÷ speed, found with a KD-tree on 3-D unit-sphere
coordinates: the chord length maps exactly to the great-circle distance, so
no projection is needed and only pairs inside the catchment are ever formed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Pairs:
    """Area → facility pairs within reach, sorted by area then facility.

    Attributes
    ----------
    area, facility : ndarray of int
        Row positions in the areas and facilities tables.
    minutes : ndarray of float
        Travel time of each pair.
    """

    area: np.ndarray
    facility: np.ndarray
    minutes: np.ndarray

    def __len__(self) -> int:
        return len(self.area)

    def select(self, mask) -> "Pairs":
        return Pairs(self.area[mask], self.facility[mask], self.minutes[mask])


def lonlat(gdf) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of each row's point (a point inside polygons)."""
    geom = gdf.geometry
    pts = geom if (geom.geom_type == "Point").all() else geom.representative_point()
    return pts.x.to_numpy(float), pts.y.to_numpy(float)


def _unit_xyz(lon, lat) -> np.ndarray:
    lo, la = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def km_between(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance in km (haversine), element-wise."""
    lo1, la1, lo2, la2 = map(np.radians, (lon1, lat1, lon2, lat2))
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def straight_line_pairs(areas, facilities, limit_minutes, *, speed_kmh=4.5, circuity=1.3) -> Pairs:
    """Pairs whose straight-line travel time is within each area's limit.

    Parameters
    ----------
    areas, facilities : GeoDataFrame
        EPSG:4326.
    limit_minutes : float or array of float (one per area)
        Catchment of each area, minutes.
    speed_kmh, circuity : float
        Travel time = great-circle km × circuity ÷ speed_kmh × 60.
    """
    a_lon, a_lat = lonlat(areas)
    f_lon, f_lat = lonlat(facilities)
    limit = np.broadcast_to(np.asarray(limit_minutes, float), a_lon.shape)
    if len(a_lon) == 0 or len(f_lon) == 0:
        empty = np.zeros(0, int)
        return Pairs(empty, empty, np.zeros(0))
    max_km = limit.max() * speed_kmh / 60 / circuity
    # chord on the unit sphere for an arc of max_km (+ a hair for rounding)
    chord = 2 * np.sin(min(max_km / EARTH_RADIUS_KM, np.pi) / 2) * (1 + 1e-9) + 1e-12
    ta, tf = cKDTree(_unit_xyz(a_lon, a_lat)), cKDTree(_unit_xyz(f_lon, f_lat))
    m = ta.sparse_distance_matrix(tf, chord, output_type="coo_matrix")
    a, f = m.row.astype(np.int64), m.col.astype(np.int64)
    # pairs at distance 0 are not stored by the sparse matrix; find them separately
    same = ta.query_ball_tree(tf, 1e-12)
    za = np.repeat(np.arange(len(same)), [len(s) for s in same])
    zf = np.fromiter((j for s in same for j in s), np.int64, count=len(za))
    a, f = np.concatenate([a, za]), np.concatenate([f, zf])
    key = np.unique(a * len(f_lon) + f)
    a, f = key // len(f_lon), key % len(f_lon)
    minutes = km_between(a_lon[a], a_lat[a], f_lon[f], f_lat[f]) * circuity / speed_kmh * 60
    keep = minutes <= limit[a] + 1e-9
    return Pairs(a[keep], f[keep], minutes[keep])
