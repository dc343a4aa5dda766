"""Memory per candidate (issue 16 item 6): sightings aggregate as they are found, ranking
chooses exactly as it would over every sighting, and the outputs stay whole and fast."""

from __future__ import annotations

import io
import json
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from corpus.common import fake_key, fake_mac
from scanner.model import Candidate, Confidence, DeviceInfo, Method, Sighting
from scanner.pipeline import scan
from scanner.ranking import choose_devices
from scanner.ranking.sightings import KEPT, Sightings
from scanner.reports import print_report
from scanner.reports.json_report import to_dict, to_json
from scanner.reports.table import DETAILED

KEY = fake_key("many-sightings")
MAC = "C8:0F:10:1A:2B:3C"
START = datetime(2024, 2, 1)
SIGHTINGS = 20_000


def _log(path: Path, lines: int, distinct: bool = False) -> Path:
    with path.open("w") as out:
        for n in range(lines):
            stamp = (START + timedelta(seconds=n)).strftime("%Y-%m-%d %H:%M:%S.000")
            key = fake_key(f"line {n}") if distinct else KEY
            out.write(
                f"{stamp}|3.26.0i|I|HuamiBind_991_3|device ready macAddress={MAC}, "
                f"authKey={key}, model='hmpace.watch.v7'\n"
            )
    return path


def test_a_key_on_every_line_is_one_candidate_with_its_count(tmp_path: Path) -> None:
    lines = 10_000
    result = scan([_log(tmp_path / "many.log", lines)])
    [candidate] = result.candidates
    assert (candidate.key, candidate.sightings) == (KEY, lines)
    assert candidate.provenance[1:] == (f"line {lines}",)  # the newest is the candidate
    assert candidate.timestamp == START + timedelta(seconds=lines - 1)
    # A bounded sample: the first KEPT found and the KEPT newest.
    places = [s.provenance[1] for s in candidate.seen]
    first = [f"line {n}" for n in range(1, KEPT + 1)]
    newest = [f"line {n}" for n in range(lines, lines - KEPT, -1)]
    assert places == first + newest
    [device] = result.devices
    assert device.chosen.key == KEY
    assert device.reason == f"the only key seen for this device ({lines} sighting(s))"
    document = to_dict(result)
    [listed] = document["candidates"]  # type: ignore[misc]
    assert listed["sightings"] == lines
    assert [s["provenance"][1] for s in listed["seen"]] == first + newest


def _candidate(n: int, key: str = KEY) -> Candidate:
    return Candidate(
        key=key,
        field="authKey",
        provenance=("big.log", f"line {n}"),
        method=Method.LOG,
        device=DeviceInfo(mac=MAC),
        timestamp=START + timedelta(seconds=n),
        timestamp_source="log line time (local, no zone)",
    )


def test_memory_does_not_grow_with_sightings() -> None:
    sightings = Sightings()
    sightings.add(_candidate(0))
    tracemalloc.start()
    try:
        for n in range(1, SIGHTINGS):
            sightings.add(_candidate(n))
        grown = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # Held after 20,000 sightings: the sample, not the sightings (each Candidate alone
    # takes hundreds of bytes: 20,000 of them would be several MiB).
    assert grown < 1 << 20
    [candidate] = sightings.candidates()
    assert candidate.sightings == SIGHTINGS
    assert len(candidate.seen) <= 2 * KEPT


def test_every_sighting_reaches_the_listener() -> None:
    heard: list[Candidate] = []
    sightings = Sightings(heard.append)
    for n in range(50):
        sightings.add(_candidate(n % 7, key=fake_key(str(n % 3))))
    assert len(heard) == 50
    assert sorted(c.sightings for c in sightings.candidates()) == [16, 17, 17]


_times = st.one_of(
    st.none(),
    st.integers(0, 5).map(lambda s: START + timedelta(hours=s)),  # a local time
    st.integers(0, 5).map(lambda s: (START + timedelta(hours=s)).replace(tzinfo=timezone.utc)),
)
_sightings = st.builds(
    lambda key, mac, line, file, moment, method, deleted, confidence: Candidate(
        key=fake_key(str(key)),
        field="authKey",
        provenance=(f"file{file}", f"line {line}"),
        method=method,
        device=DeviceInfo(mac=fake_mac(str(mac)) if mac is not None else None),
        timestamp=moment,
        timestamp_source="t" if moment else "none",
        deleted=deleted,
        confidence=confidence,
    ),
    st.integers(0, 3),
    st.one_of(st.none(), st.integers(0, 2)),
    st.integers(1, 20),
    st.integers(0, 1),
    _times,
    st.sampled_from(list(Method)),
    st.booleans(),
    st.sampled_from(list(Confidence)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_sightings, max_size=40))
def test_ranking_over_aggregates_chooses_as_over_every_sighting(found: list[Candidate]) -> None:
    aggregated = Sightings()
    for candidate in found:
        aggregated.add(candidate)
    every = choose_devices(found)
    grouped = choose_devices(aggregated.candidates())

    def facts(devices: list) -> list[tuple]:
        return [
            (d.device, d.chosen.key, d.chosen.provenance, d.reason, {c.key for c in d.alternatives})
            for d in devices
        ]

    assert facts(grouped) == facts(every)
    assert sum(c.sightings for c in aggregated.candidates()) == len(found)


def test_json_is_written_entry_by_entry_as_one_document(tmp_path: Path) -> None:
    result = scan([_log(tmp_path / "distinct.log", 300, distinct=True)])
    assert len(result.candidates) == 300
    assert to_json(result) == json.dumps(to_dict(result), indent=2, ensure_ascii=False)
    assert json.loads(to_json(result))["candidates"][0]["seen"] == [
        {
            "timestamp": "2024-02-01T00:00:00",
            "timestamp_source": "log line time (local, no zone)",
            "provenance": [str(tmp_path / "distinct.log"), "line 1"],
        }
    ]


def test_many_devices_list_every_key_and_detail_the_first(tmp_path: Path) -> None:
    devices = DETAILED + 20
    with (tmp_path / "keys.log").open("w") as out:
        for n in range(devices):  # no MAC: every key is a device of its own
            out.write(f"2024-02-01 10:00:{n % 60:02d}.000|3.26.0i|I|T|authKey={fake_key(str(n))}\n")
    result = scan([tmp_path / "keys.log"])
    text = io.StringIO()
    print_report(result, Console(file=text, width=100, emoji=False))
    screen = text.getvalue()
    assert all(f"0x{fake_key(str(n))}" in screen for n in range(devices))
    assert screen.count("Device ") == DETAILED
    assert "Details of the other 20 devices: --json." in screen


def test_sighting_sample_is_hashable_and_ordered() -> None:
    seen = Sighting(START, "t", ("a", "line 1"))
    assert {seen, Sighting(START, "t", ("a", "line 1"))} == {seen}
