"""Device hints (a MAC named without a key) are folded per MAC as they arrive, and at most
a bound of MACs are held: memory stays bounded whatever the input."""

from __future__ import annotations

import random
import tracemalloc

import pytest

from corpus.common import fake_mac
from scanner.model import DeviceHints, DeviceInfo


def _sequence(seed: int, count: int) -> list[DeviceInfo]:
    pick = random.Random(seed)
    return [
        DeviceInfo(
            fake_mac(f"s-{pick.randrange(12)}"),
            pick.choice([None, "", "A", "B"]),
            pick.choice([None, "m1", "m2"]),
        )
        for _ in range(count)
    ]


def _previous_fold(hints: list[DeviceInfo]) -> dict[str, DeviceInfo]:
    """The reference: every hint kept in a list, folded per MAC at the end."""
    by_mac: dict[str, DeviceInfo] = {}
    for hint in hints:
        if hint.mac:
            by_mac[hint.mac] = by_mac.get(hint.mac, DeviceInfo(mac=hint.mac)).merged(hint)
    return by_mac


@pytest.mark.parametrize("seed", range(20))
def test_a_fold_is_the_previous_fold_and_merging_folds_is_one_fold(seed: int) -> None:
    hints = _sequence(seed, 60)
    whole = DeviceHints.of(hints)
    assert {h.mac: h for h in whole} == _previous_fold(hints)
    # Bounded: the first MACs seen are held, and every hint of them still merges.
    bounded = DeviceHints.of(hints, limit=4)
    assert list(bounded) == list(whole)[:4]
    assert bounded.overflowed == (len(whole) > 4)
    for cut in range(len(hints) + 1):
        merged = DeviceHints.of(hints[:cut])
        merged.merge(DeviceHints.of(hints[cut:]))
        assert list(merged) == list(whole)
        # In two bounded parts, the same MACs; the same values unless the later part
        # alone was cut short (it dropped hints of a MAC held from the first part).
        later = DeviceHints.of(hints[cut:], limit=4)
        parts = DeviceHints.of(hints[:cut], limit=4)
        parts.merge(later)
        assert [h.mac for h in parts] == [h.mac for h in bounded]
        assert parts.overflowed == bounded.overflowed
        if not later.overflowed:
            assert list(parts) == list(bounded)


def test_a_fold_pickles() -> None:
    import pickle

    hints = DeviceHints.of(_sequence(1, 30), limit=3)
    again = pickle.loads(pickle.dumps(hints))
    assert list(again) == list(hints) and again.limit == 3 and again.overflowed


def test_memory_of_the_store_is_bounded_whatever_the_rows() -> None:
    limit = 10_000
    tracemalloc.start()
    try:
        hints = DeviceHints(limit)
        for n in range(200_000):
            hints.add(
                DeviceInfo(
                    f"02:00:{n >> 16 & 255:02X}:{n >> 8 & 255:02X}:{n & 255:02X}:00", f"Band {n}"
                )
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(hints) == limit and hints.overflowed
    assert peak < 4 << 20  # about 260 bytes a held device
