"""Townships of the county (`content/townships.toml`): find one by name, or the nearest to a point."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from bot.content import ContentError, read_toml, require_text

EARTH_RADIUS_M = 6_371_000
# A place farther than this from every township is in none of them (a pin outside the county, or a
# wrong one): a report's township is then left to staff, and "附近有演练吗" asks for the township.
WITHIN_REACH_M = 20_000


@dataclasses.dataclass(frozen=True)
class Township:
    id: str
    name: str
    aliases: tuple[str, ...]
    latitude: float
    longitude: float


@dataclasses.dataclass(frozen=True)
class Nearest:
    township: Township
    distance_m: float

    @property
    def within_reach(self) -> bool:
        return self.distance_m <= WITHIN_REACH_M


@dataclasses.dataclass(frozen=True, eq=False)  # one per content load: compared (and hashed) by identity
class Townships:
    items: tuple[Township, ...]

    def get(self, township_id: str) -> Township | None:
        return next((t for t in self.items if t.id == township_id), None)

    def find(self, text: str) -> Township | None:
        """The township named (or aliased) in the text; the longest name wins."""
        matches = [(len(n), t) for t in self.items for n in (t.name, *t.aliases) if n and n in text]
        return max(matches, key=lambda m: m[0])[1] if matches else None

    def nearest(self, latitude: float, longitude: float) -> Township:
        return self.closest(latitude, longitude).township

    def closest(self, latitude: float, longitude: float) -> Nearest:
        """The nearest township and how far the point is from it."""
        return min((Nearest(t, distance_m(latitude, longitude, t.latitude, t.longitude)) for t in self.items),
                   key=lambda n: n.distance_m)


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def load_townships(directory: Path) -> Townships:
    path = directory / "townships.toml"
    entries = read_toml(path).get("township")
    if not isinstance(entries, list) or not entries:
        raise ContentError(path, "[[township]]", "-", "no townships")
    items, seen = [], set()
    for index, entry in enumerate(entries):
        label = f"township #{index + 1}"
        township_id = require_text(path, label, entry, "id")
        if township_id in seen:
            raise ContentError(path, township_id, "id", "duplicate id")
        seen.add(township_id)
        try:
            lat, lng = float(entry["latitude"]), float(entry["longitude"])
        except (KeyError, TypeError, ValueError):
            raise ContentError(path, township_id, "latitude/longitude", "missing or not a number") from None
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise ContentError(path, township_id, "latitude/longitude", "out of range")
        aliases = entry.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise ContentError(path, township_id, "aliases", "must be a list of text")
        items.append(Township(township_id, require_text(path, township_id, entry, "name"), tuple(aliases), lat, lng))
    return Townships(tuple(items))
