"""Which key is a device's key today.

A key changes each time the band is re-paired, so a device has many candidates and
only the newest works. Rules (docs/ranking.md):
1. Group by normalised MAC; a candidate without a MAC joins the group that holds the
   same key, else it forms a group of its own keyed by the key.
2. Within a group the newest timestamp wins. Log line times and zip members' DOS times
   carry no zone; they are compared as if UTC (a few hours' error only matters for keys
   minutes apart), and at the same moment a time whose zone is known ranks above them.
3. Ties (or no time at all) go to the stronger source: a WAL version beats the main
   file's version of the same row, then sqlite, log, json, xml, text, journal, carve;
   live records beat deleted ones; high confidence beats medium.
Low-confidence candidates (look-alike tokens) are never chosen.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from scanner.model import Candidate, Confidence, DeviceHints, DeviceInfo, DeviceKey, Method

_NO_TIME = datetime.min
_METHOD_ORDER = list(Method)
_CONFIDENCE_ORDER = list(Confidence)


def comparable(moment: datetime | None) -> datetime:
    if moment is None:
        return _NO_TIME
    if moment.tzinfo is not None:
        return moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def zone_known(moment: datetime | None) -> bool:
    return moment is not None and moment.tzinfo is not None


def natural(provenance: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    """Provenance in natural order, so "line 12" comes after "line 9"."""
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part)
        for step in provenance
        for part in re.split(r"(\d+)", step)
        if part
    )


def rank_key(candidate: Candidate) -> tuple:
    """Bigger is better: newer, then stronger source, live, more confident; last, the later
    place (a later line or row of the same file), so equal candidates never depend on
    the order the inputs were given in."""
    return (
        comparable(candidate.timestamp),
        zone_known(candidate.timestamp),
        -_METHOD_ORDER.index(candidate.method),
        not candidate.deleted,
        -_CONFIDENCE_ORDER.index(candidate.confidence),
        natural(candidate.provenance),
    )


def _groups(candidates: list[Candidate]) -> dict[str, list[Candidate]]:
    groups: dict[str, list[Candidate]] = {}
    key_to_mac: dict[str, str] = {}
    for candidate in candidates:
        if candidate.device.mac:
            groups.setdefault(candidate.device.mac, []).append(candidate)
            key_to_mac.setdefault(candidate.key, candidate.device.mac)
    for candidate in candidates:
        if not candidate.device.mac:
            group = key_to_mac.get(candidate.key, "key:" + candidate.key)
            groups.setdefault(group, []).append(candidate)
    return groups


def _explain(chosen: Candidate, group: list[Candidate]) -> str:
    rivals = [c for c in group if c.key != chosen.key]
    keys = len({c.key for c in rivals}) + 1
    if not rivals:
        sightings = sum(c.sightings for c in group)
        return f"the only key seen for this device ({sightings} sighting(s))"
    if chosen.timestamp is None:
        return f"no time known for any of {keys} keys; chosen for its source ({chosen.method})"
    runner_up = max(rivals, key=rank_key)
    if comparable(runner_up.timestamp) == comparable(chosen.timestamp):
        if zone_known(chosen.timestamp) and not zone_known(runner_up.timestamp):
            return (
                f"same time as another of the {keys} keys; chosen as its time's zone is "
                "known (the other's is a local time of unknown zone)"
            )
        return (
            f"same time as another of the {keys} keys; chosen for its source "
            f"({chosen.method} over {runner_up.method})"
        )
    return f"the newest of {keys} different keys seen for this device"


def choose_devices(
    candidates: list[Candidate], hints: DeviceHints | None = None
) -> list[DeviceKey]:
    """One ``DeviceKey`` per device, in a stable order (newest first).

    ``hints`` fill in a device's name and model from files that name it without a key.
    """
    hints = hints or DeviceHints()
    eligible = [c for c in candidates if c.confidence != Confidence.LOW]
    result = []
    for group in _groups(eligible).values():
        chosen = max(group, key=rank_key)
        device = chosen.device
        for other in sorted(group, key=rank_key, reverse=True):
            device = device.merged(other.device)
        hint = hints.get(device.mac)
        if hint is not None:
            device = device.merged(hint)
        others = [c for c in group if c.key != chosen.key]
        result.append(
            DeviceKey(
                device=device,
                chosen=chosen,
                alternatives=others,
                reason=_explain(chosen, group),
            )
        )
    result.sort(key=lambda d: (rank_key(d.chosen), d.device.mac or "", d.chosen.key), reverse=True)
    return result


__all__ = ["DeviceInfo", "choose_devices", "rank_key"]
