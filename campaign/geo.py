"""Distances on the earth's surface, for checking a shared location against a place."""

from __future__ import annotations

from math import asin, cos, radians, sin, sqrt

EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two (latitude, longitude) points."""
    phi1, phi2 = radians(lat1), radians(lat2)
    dphi = phi2 - phi1
    dlmb = radians(lon2 - lon1)
    h = sin(dphi / 2) ** 2 + cos(phi1) * cos(phi2) * sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(h)))


def valid_point(lat: float, lon: float) -> bool:
    return -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0


def distance_to(
    place_lat: float | None, place_lon: float | None, lat: float | None, lon: float | None
) -> float | None:
    """Distance from a shared point to a place, or None when either is unknown."""
    if place_lat is None or place_lon is None or lat is None or lon is None:
        return None
    return round(haversine_km(place_lat, place_lon, lat, lon), 2)


def is_far(distance_km: float | None, far_km: float) -> bool:
    """A visit is flagged when its location is known to be farther than ``far_km``."""
    return distance_km is not None and distance_km > far_km
