"""Device hints (a MAC named without a key) are folded per MAC as they arrive, and at most
``Limits.max_device_hints`` MACs are held: memory stays bounded whatever the input."""

from __future__ import annotations

import random
import tracemalloc
from io import StringIO
from pathlib import Path

import pytest

from corpus.common import fake_key, fake_mac, write
from corpus.sqlite_files import Database
from scanner.context import Limits, ScanOptions
from scanner.model import DeviceHints, DeviceInfo, ScanResult
from scanner.pipeline import scan
from scanner.reports.json_report import write_json
from tests.helpers import laid_out, tar_of

LIMIT = 5
NAMED, LATE = fake_mac("named"), fake_mac("late")


def _names(rows: list[tuple[str, str, str | None]]) -> bytes:
    """A database of device rows without a key: each is a hint."""
    db = Database(
        "CREATE TABLE device (_id INTEGER PRIMARY KEY, address TEXT, name TEXT, model TEXT);"
    )
    db.run("INSERT INTO device (address, name, model) VALUES (?, ?, ?)", rows)
    image = db.image()
    db.close()
    return image


def _keys(macs: list[str]) -> bytes:
    db = Database("CREATE TABLE keys (_id INTEGER PRIMARY KEY, mac TEXT, authKey TEXT);")
    db.run("INSERT INTO keys (mac, authKey) VALUES (?, ?)", [(m, fake_key(m)) for m in macs])
    image = db.image()
    db.close()
    return image


def _over_the_limit() -> list[tuple[str, bytes]]:
    """LIMIT + 1 distinct hint MACs, the named one first and the late one last; beside them,
    the keys of both."""
    others = [(fake_mac(f"other-{n}"), "Band", None) for n in range(LIMIT - 1)]
    rows = [(NAMED, "Amazfit Bip", None), *others, (LATE, "Mi Band 7", None)]
    return [("data/a-names.db", _names(rows)), ("data/b-keys.db", _keys([NAMED, LATE]))]


def _options(limit: int = LIMIT, **given: object) -> ScanOptions:
    return ScanOptions(limits=Limits(max_device_hints=limit), **given)  # type: ignore[arg-type]


def _named(result: ScanResult) -> dict[str | None, str | None]:
    return {d.device.mac: d.device.name for d in result.devices}


@pytest.mark.parametrize("container", ["folder", "tar"])
def test_past_the_limit_one_limit_problem_and_every_key_is_kept(
    tmp_path: Path, container: str
) -> None:
    target = laid_out(_over_the_limit(), tmp_path, container)
    result = scan([target], _options())
    assert [(p.kind, p.provenance) for p in result.problems] == [("limit", (str(target),))]
    assert f"{LIMIT:,}" in result.problems[0].message
    assert {c.key for c in result.candidates} == {fake_key(NAMED), fake_key(LATE)}
    # The first hint was kept; the one past the limit is not, its key is.
    assert _named(result) == {NAMED: "Amazfit Bip", LATE: None}
    assert len(result.device_hints) == LIMIT
    # One more MAC allowed: no problem, both named.
    roomy = scan([target], _options(LIMIT + 1))
    assert roomy.problems == [] and _named(roomy) == {NAMED: "Amazfit Bip", LATE: "Mi Band 7"}


def test_a_hint_of_a_mac_already_held_still_merges_past_the_limit(tmp_path: Path) -> None:
    rows = [(fake_mac(f"m-{n}"), "Band", None) for n in range(LIMIT)]
    rows += [(fake_mac("new"), "Band", None), (fake_mac("m-0"), "Other", "hmpace.watch.v7")]
    write(tmp_path / "names.db", _names(rows))
    write(tmp_path / "keys.db", _keys([fake_mac("m-0")]))
    result = scan([tmp_path], _options())
    assert [p.kind for p in result.problems] == ["limit"]
    (device,) = result.devices
    assert device.device == DeviceInfo(fake_mac("m-0"), "Band", "hmpace.watch.v7")


def test_the_limit_holds_across_inputs(tmp_path: Path) -> None:
    """Each input's hints are folded into the scan's in input order: one limit problem,
    on the input whose hints no longer fit."""
    first, second = tmp_path / "first", tmp_path / "second"
    write(first / "names.db", _names([(fake_mac(f"m-{n}"), "Band", None) for n in range(LIMIT)]))
    rows = [(fake_mac("m-1"), "Other", "hmpace.watch.v7"), (LATE, "Mi Band 7", None)]
    write(second / "names.db", _names(rows))
    write(second / "keys.db", _keys([fake_mac("m-1"), LATE]))
    result = scan([first, second], _options())
    assert [(p.kind, p.provenance) for p in result.problems] == [("limit", (str(second),))]
    assert {d.device for d in result.devices} == {
        DeviceInfo(fake_mac("m-1"), "Band", "hmpace.watch.v7"),
        DeviceInfo(LATE),
    }
    assert scan([first, second], _options(LIMIT + 1)).problems == []


def test_repeated_hints_of_one_mac_fold_first_name_wins_later_model_fills(
    tmp_path: Path,
) -> None:
    rows: list[tuple[str, str, str | None]] = [(NAMED, "Band A", None)] * 1000
    rows.append((NAMED, "Band B", "hmpace.watch.v7"))
    write(tmp_path / "names.db", _names(rows))
    write(tmp_path / "keys.db", _keys([NAMED]))
    result = scan([tmp_path], _options(1))
    assert result.problems == []
    assert list(result.device_hints) == [DeviceInfo(NAMED, "Band A", "hmpace.watch.v7")]
    (device,) = result.devices
    assert device.device == DeviceInfo(NAMED, "Band A", "hmpace.watch.v7")


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
    assert all(whole.get(mac) == info for mac, info in _previous_fold(hints).items())
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


def _json(paths: list[Path], jobs: int) -> str:
    out = StringIO()
    write_json(scan(paths, _options(pool_after=0), jobs=jobs), out)
    return out.getvalue()


def test_the_same_json_with_1_and_2_jobs_past_the_limit(tmp_path: Path) -> None:
    members = []
    for n in range(12):
        rows = [(fake_mac(f"d{n}-{k}"), f"Band {n}-{k}", None) for k in range(2)]
        members.append((f"data/app{n}/databases/names-{n}.db", _names(rows)))
    macs = [fake_mac(f"d{n}-0") for n in (0, 1, 11)]
    members.append(("data/zz/databases/keys.db", _keys(macs)))
    backup = tmp_path / "backup.tar"
    backup.write_bytes(tar_of(members))
    one = _json([backup], 1)
    assert '"limit"' in one and "Band 0-0" in one and "Band 11-0" not in one
    assert _json([backup], 2) == one
    other = tmp_path / "other.tar"
    other.write_bytes(tar_of(members[6:]))
    assert _json([backup, other], 2) == _json([backup, other], 1)


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
    assert peak < 160 * limit  # about 145 bytes a held device: its MAC, name and dict entry
