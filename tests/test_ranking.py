"""Ranking: which key is chosen for a device, and why."""

from __future__ import annotations

from datetime import datetime, timezone

from scanner.model import Candidate, DeviceHints, DeviceInfo
from scanner.ranking import choose_devices

MAC = "C8:0F:10:AA:BB:CC"
OLD, NEW, OTHER = "11" * 16, "22" * 16, "33" * 16


def cand(
    key: str,
    *,
    mac: str | None = MAC,
    when: datetime | None = None,
    method: str = "sqlite",
    confidence: str = "high",
    deleted: bool = False,
    model: str | None = None,
) -> Candidate:
    return Candidate(
        key=key,
        field="AUTHKEY",
        provenance=("input", method, key[:4]),
        method=method,
        device=DeviceInfo(mac=mac, model=model),
        timestamp=when,
        timestamp_source="test",
        deleted=deleted,
        confidence=confidence,
    )


def utc(day: int) -> datetime:
    return datetime(2024, 3, day, 12, tzinfo=timezone.utc)


def test_newest_timestamp_wins_and_older_keys_are_alternatives() -> None:
    devices = choose_devices([cand(NEW, when=utc(5)), cand(OLD, when=utc(1))])
    assert [(d.device.mac, d.chosen.key) for d in devices] == [(MAC, NEW)]
    assert [c.key for c in devices[0].alternatives] == [OLD]
    assert devices[0].reason == "the newest of 2 different keys seen for this device"


def test_wal_beats_main_file_on_equal_time() -> None:
    same = utc(2)
    devices = choose_devices(
        [cand(OLD, when=same, method="sqlite"), cand(NEW, when=same, method="wal")]
    )
    assert devices[0].chosen.key == NEW
    assert devices[0].reason == (
        "same time as another of the 2 keys; chosen for its source (wal over sqlite)"
    )


def test_live_record_beats_deleted_one_on_equal_time() -> None:
    same = utc(2)
    devices = choose_devices(
        [cand(OLD, when=same, method="carve", deleted=True), cand(NEW, when=same, method="carve")]
    )
    assert devices[0].chosen.key == NEW


def test_any_time_beats_no_time() -> None:
    devices = choose_devices([cand(OLD, when=utc(1)), cand(NEW, when=None, method="wal")])
    assert devices[0].chosen.key == OLD


def test_naive_log_time_compares_with_utc_times() -> None:
    log_time = datetime(2024, 3, 3, 9, 0)  # no zone: read as UTC
    devices = choose_devices([cand(NEW, when=log_time, method="log"), cand(OLD, when=utc(2))])
    assert devices[0].chosen.key == NEW


def test_key_without_mac_joins_the_device_that_has_the_same_key() -> None:
    devices = choose_devices(
        [cand(NEW, when=utc(1)), cand(NEW, mac=None, when=utc(9), method="log", model="hmpace.x.y")]
    )
    assert len(devices) == 1
    assert devices[0].device == DeviceInfo(mac=MAC, name=None, model="hmpace.x.y")
    assert devices[0].chosen.method == "log"


def test_unknown_device_keys_form_their_own_groups() -> None:
    devices = choose_devices([cand(NEW, mac=None), cand(OTHER, mac=None)])
    assert sorted(d.chosen.key for d in devices) == [NEW, OTHER]
    assert all(d.device.mac is None for d in devices)


def test_low_confidence_is_never_chosen() -> None:
    assert choose_devices([cand(NEW, confidence="low", when=utc(9))]) == []
    devices = choose_devices([cand(NEW, confidence="low", when=utc(9)), cand(OLD, when=utc(1))])
    assert devices[0].chosen.key == OLD


def test_hints_fill_name_and_model() -> None:
    hint = DeviceInfo(mac=MAC, name="Amazfit Bip", model="huami.bip")
    devices = choose_devices([cand(NEW)], DeviceHints.of([hint]))
    assert devices[0].device == DeviceInfo(mac=MAC, name="Amazfit Bip", model="huami.bip")


def test_equal_candidates_tie_break_on_the_later_place_not_input_order() -> None:
    band = DeviceInfo(mac=MAC)
    first = Candidate(OLD, "Key", ("out.txt", "line 9"), "text", device=band)
    later = Candidate(NEW, "Key", ("out.txt", "line 12"), "text", device=band)
    for order in ([later, first], [first, later]):
        (device,) = choose_devices(order)
        assert device.chosen.key == NEW


def test_hostile_json_depth_is_bounded() -> None:
    from scanner.formats.json.walk import walk_json

    deep: object = {"authKey": "ab" * 16}
    for _ in range(5000):
        deep = [deep]
    assert list(walk_json(deep)) == []
    shallow = [[{"authKey": "ab" * 16}]]
    assert [hit.path for hit in walk_json(shallow)] == ["$[0][0].authKey"]
