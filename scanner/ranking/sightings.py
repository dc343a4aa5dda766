"""Candidates aggregated as they are found, so memory does not grow with sightings.

A log can repeat one key on every line (100,000 lines of the same ``authKey=``). Every
sighting of the same finding (same key, field, app, device, method, deleted flag and
confidence, in the same file) counts into one aggregate that keeps its best-ranked
sighting (which ranking would choose anyway), a count, and a bounded sample: the first
``KEPT`` sightings found and the ``KEPT`` best-ranked (newest); a finding seen once keeps
just itself (``seen`` empty). The full list goes to a
listener (``Sightings(on_sighting)``, for a report that streams them), never into memory.

Ranking over the aggregates chooses exactly what it would over every sighting: the best
sighting of each aggregate is kept, and all sightings of one aggregate share a device.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Callable
from typing import Any

from scanner.model import Candidate, Sighting
from scanner.ranking.choose import comparable, natural, zone_known

KEPT = 3  # first and newest sightings kept per aggregate

Identity = tuple[Any, ...]


def identity(candidate: Candidate) -> Identity:
    """What makes two sightings the same finding: everything but where in the file and when."""
    return (
        candidate.key,
        candidate.field,
        candidate.app,
        candidate.device,
        candidate.method,
        candidate.deleted,
        candidate.confidence,
        candidate.note,
        candidate.incomplete,
        candidate.provenance[:-1],  # the file (input and members), not the line or row in it
    )


def sighting(candidate: Candidate) -> Sighting:
    return Sighting(candidate.timestamp, candidate.timestamp_source, candidate.provenance)


def _order(seen: Sighting) -> tuple[Any, ...]:
    """Rank within one aggregate, where method, deleted and confidence are all the same:
    ``rank_key``'s time (and whether its zone is known), then its place."""
    return (comparable(seen.timestamp), zone_known(seen.timestamp), natural(seen.provenance))


class _Aggregate:
    """Kept small, since a hostile log may hold a distinct key on every line: a finding
    seen once holds just its candidate; order keys are made from the second sighting on."""

    __slots__ = ("best", "best_order", "count", "first", "newest")

    def __init__(self, candidate: Candidate) -> None:
        self.best = candidate
        self.best_order: tuple[Any, ...] | None = None
        self.count = 1
        self.first: list[Sighting] | None = None  # up to KEPT, once seen twice
        # A min-heap of (order, arrival, sighting) once seen more than KEPT times.
        self.newest: list[tuple[tuple[Any, ...], int, Sighting]] | None = None

    def add(self, candidate: Candidate) -> None:
        seen = sighting(candidate)
        if self.first is None:
            self.first = [sighting(self.best)]
            self.best_order = _order(self.first[0])
        self.count += 1
        if len(self.first) < KEPT:
            self.first.append(seen)
        if self.newest is None:
            self.newest = [(_order(s), n, s) for n, s in enumerate(self.first)]
            heapq.heapify(self.newest)
        order = _order(seen)
        entry = (order, self.count, seen)
        if len(self.newest) < KEPT:
            heapq.heappush(self.newest, entry)
        elif entry > self.newest[0]:
            heapq.heapreplace(self.newest, entry)
        if self.best_order is None or order > self.best_order:
            self.best, self.best_order = candidate, order

    def candidate(self) -> Candidate:
        if self.first is None:
            return self.best
        newest = [entry[2] for entry in sorted(self.newest or [], reverse=True)]
        kept = list(dict.fromkeys([*self.first, *newest]))
        return dataclasses.replace(self.best, sightings=self.count, seen=tuple(kept))


class Sightings:
    """The aggregates of one scan, in the order each was first seen."""

    def __init__(self, on_sighting: Callable[[Candidate], None] | None = None) -> None:
        self._aggregates: dict[Identity, _Aggregate] = {}
        self._on_sighting = on_sighting

    def add(self, candidate: Candidate) -> None:
        if self._on_sighting is not None:
            self._on_sighting(candidate)
        found = identity(candidate)
        aggregate = self._aggregates.get(found)
        if aggregate is None:
            self._aggregates[found] = _Aggregate(candidate)
        else:
            aggregate.add(candidate)

    def __len__(self) -> int:
        return len(self._aggregates)

    def candidates(self) -> list[Candidate]:
        """One candidate per aggregate: its best sighting, with ``sightings`` and ``seen``."""
        return [aggregate.candidate() for aggregate in self._aggregates.values()]
