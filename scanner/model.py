"""The records that flow out of the pipeline: candidates, devices, problems."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from scanner.errors import ProblemKind


class Method(StrEnum):
    """Where a candidate came from, strongest evidence first (ranking breaks ties by it)."""

    WAL = "wal"
    SQLITE = "sqlite"
    LOG = "log"
    JSON = "json"
    XML = "xml"
    TEXT = "text"
    JOURNAL = "journal"
    CARVE = "carve"


class Confidence(StrEnum):
    """How far a candidate can be trusted, most first; ``low`` is never chosen for a device."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)  # slots: one is held per device named (DeviceHints)
class DeviceInfo:
    """What is known of the wearable a key belongs to; every part may be missing."""

    mac: str | None = None
    name: str | None = None
    model: str | None = None

    def merged(self, other: DeviceInfo) -> DeviceInfo:
        """Fill the gaps of this one from ``other``."""
        return DeviceInfo(
            mac=self.mac or other.mac,
            name=self.name or other.name,
            model=self.model or other.model,
        )


class DeviceHints:
    """Devices' names and models seen without a key, folded per MAC as they arrive: the
    first value seen of each field wins, so repeated rows of one MAC cost nothing.

    At most ``limit`` MACs are held (None: no bound); a hint of a further MAC is left out
    and ``overflowed`` says so. Hints of a MAC already held still fill its gaps.
    """

    __slots__ = ("_by_mac", "limit", "overflowed")

    def __init__(self, limit: int | None = None) -> None:
        # Most hints are a MAC and a name: the name alone is held for them, without the
        # DeviceInfo around it (56 bytes less each); a DeviceInfo for the others.
        self._by_mac: dict[str, str | DeviceInfo] = {}
        self.limit = limit
        self.overflowed = False

    @classmethod
    def of(cls, hints: Iterable[DeviceInfo], limit: int | None = None) -> DeviceHints:
        folded = cls(limit)
        for hint in hints:
            folded.add(hint)
        return folded

    def add(self, hint: DeviceInfo) -> None:
        mac = hint.mac
        if not mac:
            return
        held = self._by_mac.get(mac)
        if held is None:
            if self.limit is None or len(self._by_mac) < self.limit:
                self._by_mac[mac] = _compact(hint)
            else:
                self.overflowed = True
        elif isinstance(held, str):  # a name: only a model can be added
            if hint.model is not None:
                self._by_mac[mac] = DeviceInfo(mac, held, hint.model)
        elif not (held.name and held.model):  # else nothing to fill: no new object
            self._by_mac[mac] = _compact(held.merged(hint))

    def merge(self, later: DeviceHints) -> bool:
        """Fold in ``later``'s devices as if its hints came after this one's (the same as
        one fold of both, as long as ``later`` alone was not cut short). True: some of its
        devices were left out here."""
        already, self.overflowed = self.overflowed, False
        for hint in later:
            self.add(hint)
        left_out = self.overflowed
        self.overflowed = already or left_out or later.overflowed
        return left_out

    def get(self, mac: str | None) -> DeviceInfo | None:
        held = self._by_mac.get(mac) if mac else None
        return DeviceInfo(mac, held) if isinstance(held, str) else held

    def __iter__(self) -> Iterator[DeviceInfo]:
        """One per MAC, in the order each was first seen."""
        for mac, held in self._by_mac.items():
            yield DeviceInfo(mac, held) if isinstance(held, str) else held

    def __len__(self) -> int:
        return len(self._by_mac)

    def __repr__(self) -> str:
        return f"DeviceHints({len(self)} devices, limit={self.limit}, overflowed={self.overflowed})"


def _compact(hint: DeviceInfo) -> str | DeviceInfo:
    return hint.name if hint.name and hint.model is None else hint


@dataclass(frozen=True)
class Sighting:
    """One place and time a candidate was seen (candidates aggregate repeated sightings)."""

    timestamp: datetime | None
    timestamp_source: str
    provenance: tuple[str, ...]


@dataclass(frozen=True)
class Candidate:
    """One key value found beside a key field name, with where and when."""

    key: str  # 32 lowercase hex, or a decimal account id
    field: str  # the field name as found (AUTHKEY, auth_key, token, ...)
    provenance: tuple[str, ...]  # input path, members..., table/row/column or line
    method: Method
    app: str | None = None
    device: DeviceInfo = dataclasses.field(default_factory=DeviceInfo)  # `field` is a field
    timestamp: datetime | None = None
    timestamp_source: str = "none"
    deleted: bool = False
    confidence: Confidence = Confidence.HIGH
    note: str | None = None  # what the user should know about this value (its shape, a cut)
    incomplete: bool = False  # printed cut short: ``key`` holds what is visible, never chosen
    # Aggregated (ranking/sightings.py): how often this finding was seen in its file, and a
    # bounded sample of where (the first and the newest); the candidate itself is the best.
    sightings: int = 1
    seen: tuple[Sighting, ...] = ()

    @property
    def gadgetbridge(self) -> str:
        """The form Gadgetbridge wants: ``0x`` + hex; account ids stay digits."""
        return self.key if self.key.isdigit() else "0x" + self.key


@dataclass(frozen=True)
class Problem:
    """Something that could not be read, with where it happened and plain words."""

    kind: ProblemKind
    provenance: tuple[str, ...]
    message: str


@dataclass
class DeviceKey:
    """The key chosen for one device, and why."""

    device: DeviceInfo
    chosen: Candidate
    alternatives: list[Candidate]
    reason: str


@dataclass
class ScanResult:
    candidates: list[Candidate] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    devices: list[DeviceKey] = field(default_factory=list)
    device_hints: DeviceHints = field(default_factory=DeviceHints)
    inputs_read: int = 0  # top-level inputs that could be opened at all
    files_seen: int = 0
