"""Text shapes as their writers print them: every huami-token generation, Mi Fitness / Mi
Health log lines, adb bugreport logcat, freemyband key files, Amazfish logs and settings."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from rich.console import Console

from corpus.common import fake_key, fake_mac, write
from corpus.samples import huami_token_runs as ht
from corpus.samples import text_logs as tl
from scanner.model import ScanResult
from scanner.pipeline import scan
from scanner.reports.json_report import to_dict
from scanner.reports.table import print_report

MTIME = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
FILE_TIME = (MTIME, "file mtime")
OWN = "log line time (local, no zone)"
LOGCAT = "logcat line time, year from the dumpstate header (local, no zone)"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("text_shapes")
    ht.build(folder)
    tl.build(folder)
    return folder


def _facts(result: ScanResult) -> list[tuple]:
    """(key, MAC, field, last provenance step, confidence) of each candidate, in order."""
    return [
        (c.key, c.device.mac, c.field, c.provenance[-1], c.confidence) for c in result.candidates
    ]


def _chosen(result: ScanResult) -> dict[str | None, str]:
    return {d.device.mac: d.chosen.key for d in result.devices}


# --- huami-token, every generation -------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "facts"),
    [
        (ht.PLAIN, [(ht.BAND_KEY, ht.BAND_MAC, "auth_key", "line 7", "high")]),
        (ht.HEAVY, [(ht.BAND_KEY, ht.BAND_MAC, "auth_key", "line 9", "high")]),
        (ht.ASCII, [(ht.BAND_KEY, ht.BAND_MAC, "auth_key", "line 9", "high")]),
        (
            ht.TABLE_2021,
            [
                (ht.BAND_KEY, ht.BAND_MAC, "auth_key", "line 9", "high"),
                (ht.WATCH_KEY, ht.WATCH_MAC, "auth_key", "line 11", "high"),
            ],
        ),
        (ht.EMPTY_2021, []),
        (
            ht.BOX_2022,
            [
                (ht.BAND_KEY, ht.BAND_MAC, "Key", "line 9", "high"),
                (ht.WATCH_KEY, ht.WATCH_MAC, "Key", "line 19", "high"),
            ],
        ),
        (ht.AMAZFIT_080, [(ht.BAND_KEY, ht.BAND_MAC, "Key", "line 6", "high")]),
        (ht.XIAOMI_080, [(ht.WATCH_KEY, ht.WATCH_MAC, "Key", "line 5", "high")]),
    ],
)
def test_huami_token_generation(root: Path, sample: str, facts: list[tuple]) -> None:
    """A missing key (0x0, 0x00, 0x??, "(not available)") is never a candidate."""
    result = scan([root / sample])
    assert _facts(result) == facts
    assert {(c.timestamp, c.timestamp_source) for c in result.candidates} <= {FILE_TIME}
    assert _chosen(result) == {mac: key for key, mac, *_ in facts}
    assert result.problems == []


def test_huami_token_xiaomi_mode_names_the_device(root: Path) -> None:
    (candidate,) = scan([root / ht.XIAOMI_080]).candidates
    assert (candidate.device.name, candidate.method) == (ht.XIAOMI_NAME, "text")
    # the account id printed after the devices is not a key
    assert ht.ACCOUNT_ID not in {c.key for c in scan([root / ht.XIAOMI_080]).candidates}


def test_huami_token_2025_keys_are_logged_with_their_time(root: Path) -> None:
    result = scan([root / ht.LOGURU_2025])
    assert [
        (c.key, c.device.mac, c.field, c.provenance[-1], c.timestamp, c.timestamp_source)
        for c in result.candidates
    ] == [
        (
            ht.BAND_KEY,
            ht.BAND_MAC,
            "Key",
            "line 6",
            datetime(2025, 11, 2, 9, 14, 6, 204000),
            OWN,
        )
    ]
    assert _chosen(result) == {ht.BAND_MAC: ht.BAND_KEY}


def test_huami_token_key_cut_short_is_listed_never_chosen(root: Path) -> None:
    result = scan([root / ht.CUT_SHORT])
    assert _facts(result) == [
        (ht.BIP_UUID_CUT, ht.BIP_MAC, "auth_key", "line 9", "low"),
        (ht.CUT_SHOWN, ht.CUT_MAC, "auth_key", "line 10", "low"),
    ]
    assert [c.incomplete for c in result.candidates] == [True, True]
    assert all("wider terminal" in (c.note or "") for c in result.candidates)
    assert result.devices == []
    document = to_dict(result)
    assert [(c["key"], c["incomplete"]) for c in document["candidates"]] == [  # type: ignore[index,union-attr]
        (ht.BIP_UUID_CUT, True),
        (ht.CUT_SHOWN, True),
    ]


def test_huami_token_uuid_key_is_listed_with_a_note(root: Path) -> None:
    result = scan([root / ht.UUID_WHOLE])
    whole = ht.BIP_UUID.replace("-", "")
    assert _facts(result) == [(whole, ht.BIP_MAC, "auth_key", "line 9", "high")]
    (candidate,) = result.candidates
    assert not candidate.incomplete and ht.BIP_UUID in (candidate.note or "")
    assert _chosen(result) == {ht.BIP_MAC: whole}
    document = to_dict(result)
    (entry,) = document["candidates"]  # type: ignore[misc]
    assert entry["note"] == candidate.note and "incomplete" not in entry
    (device,) = document["devices"]  # type: ignore[misc]
    assert device["note"] == candidate.note


def test_ordinary_candidates_have_no_note_in_json(root: Path) -> None:
    (entry, _) = to_dict(scan([root / ht.TABLE_2021]))["candidates"]  # type: ignore[misc]
    assert "note" not in entry and "incomplete" not in entry


def test_box_and_block_shapes_need_their_frame(tmp_path: Path) -> None:
    key, mac = fake_key("box-frame"), fake_mac("box-frame")
    lines = [
        f"║  MAC: {mac}, active: Yes",
        f"║  Key: 0x{key}",
        "Device 3: connected",
        f"Key: 0x{key}",
    ]
    path = write(tmp_path / "notes.txt", "\n".join(lines) + "\n", int(MTIME.timestamp()))
    assert scan([path]).candidates == []


# --- Mi Fitness / Mi Health ------------------------------------------------------------


def test_mi_health_device_info_mac_from_detail_newest_by_line_time(root: Path) -> None:
    result = scan([root / tl.HMBLE])
    assert [
        (c.key, c.device.mac, c.device.model, c.field, c.provenance[-1], c.timestamp)
        for c in result.candidates
    ] == [
        (tl.BAND5_NEW, tl.BAND5_MAC, "hmpace.bracelet.v5", "huamiAuthKey", "line 2",
         datetime(2024, 5, 2, 10, 0, 1, 100000)),
        (tl.BAND5_OLD, tl.BAND5_MAC, "hmpace.bracelet.v5", "huamiAuthKey", "line 4",
         datetime(2024, 5, 2, 9, 58, 40)),
    ]  # fmt: skip
    assert {c.app for c in result.candidates} == {"com.mi.health"}
    assert _chosen(result) == {tl.BAND5_MAC: tl.BAND5_NEW}
    assert "newest of 2" in result.devices[0].reason


def test_rotated_log_json_fragments_and_model_prefixes(root: Path) -> None:
    result = scan([root / tl.ROTATED])
    assert [
        (c.key, c.device.mac, c.device.model, c.field, c.provenance[-1], c.confidence)
        for c in result.candidates
    ] == [
        (tl.BAND8PRO_KEY, tl.BAND8PRO_MAC, "lchz.watch.m67", "encryptKey", "line 1", "high"),
        (tl.ESCAPED_KEY, None, None, "encryptKey", "line 2", "high"),
        (tl.LCHZ_TOKEN, tl.LCHZ_MAC, "lchz.watch.n65cn", "token", "line 4", "medium"),
        (tl.HQBD3_TOKEN, tl.HQBD3_MAC, "hqbd3.watch.a1", "token", "line 5", "medium"),
    ]
    assert [c.timestamp for c in result.candidates] == [
        datetime(2024, 6, 10, 8, 0, second) for second in (0, 1, 3, 4)
    ]


# --- adb bugreport ------------------------------------------------------------------


def test_bugreport_logcat_times_take_the_year_from_dumpstate(root: Path) -> None:
    result = scan([root / tl.BUGREPORT])
    assert [
        (c.key, c.device.mac, c.field, c.provenance[1:], c.timestamp, c.timestamp_source)
        for c in result.candidates
    ] == [
        (tl.BUG_OLD, tl.BUG_MAC, "encryptKey", (tl.BUGREPORT_TXT, "line 12"),
         datetime(2024, 12, 31, 23, 58, 43, 915000), LOGCAT),
        (tl.BUG_NEW, tl.BUG_MAC, "encryptKey", (tl.BUGREPORT_TXT, "line 14"),
         datetime(2025, 1, 1, 0, 5, 12, 4000), LOGCAT),
    ]  # fmt: skip
    assert _chosen(result) == {tl.BUG_MAC: tl.BUG_NEW}


def test_logcat_without_dumpstate_header_has_no_line_time(tmp_path: Path) -> None:
    key = fake_key("logcat-alone")
    line = f"03-01 11:58:43.915  8123  8160 D XiaomiFit: encryptKey={key}\n"
    path = write(tmp_path / "logcat.txt", line, int(MTIME.timestamp()))
    (candidate,) = scan([path]).candidates
    assert (candidate.key, candidate.timestamp, candidate.timestamp_source) == (key, *FILE_TIME)


# --- freemyband ----------------------------------------------------------------------


def test_freemyband_files_anywhere_by_their_content(root: Path) -> None:
    result = scan([root / tl.FREEMYBAND_DIR])
    assert sorted(
        (c.key, c.device.mac, c.field, c.provenance[-1], c.confidence) for c in result.candidates
    ) == sorted(
        [
            (tl.FMB_KEY, tl.FMB_MAC, "freemyband", "line 1", "high"),
            (tl.FMB_NAMED_KEY, tl.FMB_NAMED_MAC, "freemyband", "line 1", "high"),
        ]
    )
    assert _chosen(result) == {tl.FMB_MAC: tl.FMB_KEY, tl.FMB_NAMED_MAC: tl.FMB_NAMED_KEY}


def test_freemyband_shape_counts_only_as_the_whole_first_line(tmp_path: Path) -> None:
    key, mac = fake_key("fmb-shape"), fake_mac("fmb-shape")
    mtime = int(MTIME.timestamp())
    colon_name = write(tmp_path / f"sd/miband-{mac}.txt", f"{mac};{key}\r\n", mtime)
    assert [(c.key, c.device.mac) for c in scan([colon_name]).candidates] == [(key, mac)]
    later = write(tmp_path / "notes.txt", f"list\n{mac};{key}\n", mtime)
    mixed = write(tmp_path / "row.txt", f"{mac};{key};extra\n", mtime)
    assert scan([later]).candidates == [] and scan([mixed]).candidates == []


# --- Amazfish ---------------------------------------------------------------------------


def test_amazfish_secret_key_not_the_session_key(root: Path) -> None:
    result = scan([root / tl.AMAZFISH_LOG])
    assert [
        (c.key, c.field, c.provenance[-1], c.timestamp, c.timestamp_source, c.confidence)
        for c in result.candidates
    ] == [
        (tl.AMAZFISH_KEY, "Secret Key", "line 6", datetime(2026, 1, 15, 20, 3, 11, 406000), OWN,
         "high"),
    ]  # fmt: skip


def test_amazfish_settings_file(root: Path) -> None:
    result = scan([root / tl.AMAZFISH_CONF])
    assert _facts(result) == [(tl.AMAZFISH_KEY, None, "authkey", "line 2", "high")]


def test_amazfish_session_key_alone_is_never_a_candidate(tmp_path: Path) -> None:
    session = fake_key("session-alone")
    path = write(
        tmp_path / "d.log", f'2026-01-15 20:03:11.406 : Shared Session Key:  "{session}"\n'
    )
    assert scan([path]).candidates == []


def test_json_report_is_valid_json_with_notes(root: Path) -> None:
    document = json.loads(json.dumps(to_dict(scan([root / ht.CUT_SHORT]))))
    assert document["schema"] == 1


def test_report_tells_of_a_key_cut_short_without_all(root: Path) -> None:
    console = Console(width=100, record=True, file=io.StringIO())
    print_report(scan([root / ht.CUT_SHORT]), console)
    text = console.export_text()
    assert "No wearable key found" in text
    assert f"0x{ht.BIP_UUID_CUT}" in text and "wider terminal" in text


def test_blank_runs_after_a_block_line_are_trailing_space(tmp_path: Path) -> None:
    """A long run of blanks (a lazy regex was quadratic in it: hours for 1 MiB) is only
    trailing space: the key and the name are read as without it."""
    key, mac = fake_key("blank-run"), fake_mac("blank-run")
    blanks = " \t" * 100_000
    text = f"Device 0: Band {blanks}\n  MAC: {mac}\n  Key: 0x{key}{blanks}\n"
    path = write(tmp_path / "run.txt", text, int(MTIME.timestamp()))
    (candidate,) = scan([path]).candidates
    assert (candidate.key, candidate.device.mac, candidate.device.name) == (key, mac, "Band")


def test_documentation_and_masked_keys_are_not_keys(tmp_path: Path) -> None:
    """huami-token's README keys are 30 hex; users mask theirs with x: neither is a key,
    nor cut short (no "…")."""
    mac = fake_mac("readme")
    readme = "0xa3c10e34e5c14637eea6b9efc06106"
    masked = "0x09fc02af210596d54xxxxxxxxxxxxx"
    text = (
        "+----------------------------------------------------------+\n"
        "|        MAC        |               auth_key               |\n"
        "|-------------------+--------------------------------------|\n"
        f"| {mac} |   {readme}   |\n"
        "+----------------------------------------------------------+\n"
        f"\n╓───Device 0\n║  MAC: {mac}, active: Yes\n║  Key: {masked}\n╙────────────\n"
    )
    path = write(tmp_path / "readme.txt", text, int(MTIME.timestamp()))
    assert scan([path]).candidates == []
