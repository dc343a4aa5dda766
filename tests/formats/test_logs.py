"""Log lines: Mi Fitness bundles and loose logs, decoys, segments, over-long lines."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.common import fake_key, fake_mac
from corpus.samples import log_bundle as lb
from scanner.extractors.text_keys import keys_in_text
from scanner.model import ScanResult
from scanner.pipeline import scan

MTIME = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("log_bundle")
    lb.build(root)
    return root


def _facts(result: ScanResult) -> set[tuple]:
    """Every sighting: a finding seen again in the same file is one candidate whose ``seen``
    keeps where and when (all of them, for so few)."""
    return {
        (c.key, s.provenance[1:], c.field, c.method, c.device.mac, s.timestamp, s.timestamp_source)
        for c in result.candidates
        for s in c.seen or [c]
    }


def _chosen(result: ScanResult) -> dict[str | None, str]:
    return {d.device.mac: d.chosen.key for d in result.devices}


def _write(path: Path, text: str | bytes, mtime: int = int(MTIME.timestamp())) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    os.utime(path, (mtime, mtime))
    return path


def test_bundle_every_sighting_with_its_place_and_time(bundle: Path) -> None:
    result = scan([bundle / lb.ZIP])
    k1, k2, k3 = lb.WATCH_KEYS
    watch, band = lb.WATCH_MAC, lb.BAND_MAC
    own, above = (
        "log line time (local, no zone)",
        "log line time of the entry above (local, no zone)",
    )
    current, older = "XiaomiFit.device.log", "XiaomiFit.device.log.bak.1"
    oldest = ("XiaomiFit.device.log.bak.2.gz", "XiaomiFit.device.log.bak.2")
    assert _facts(result) == {
        (
            k3,
            (current, "line 27"),
            "token",
            "log",
            watch,
            datetime(2024, 2, 28, 21, 14, 4, 20000),
            own,
        ),
        (
            k3,
            (current, "line 31"),
            "token",
            "log",
            watch,
            datetime(2024, 2, 29, 8, 0, 0, 250000),
            own,
        ),
        (
            lb.BAND_KEY,
            (current, "line 31"),
            "token",
            "log",
            band,
            datetime(2024, 2, 29, 8, 0, 0, 250000),
            own,
        ),
        (
            k2,
            (older, "line 23"),
            "encryptKey",
            "log",
            watch,
            datetime(2024, 1, 15, 9, 30, 12, 1000),
            above,
        ),
        (
            k2,
            (older, "line 24"),
            "token",
            "log",
            watch,
            datetime(2024, 1, 15, 9, 30, 12, 480000),
            own,
        ),
        (
            k1,
            (*oldest, "line 3"),
            "token",
            "log",
            watch,
            datetime(2023, 11, 2, 18, 20, 14, 2000),
            own,
        ),
        (
            lb.BAND_KEY,
            ("XiaomiFit.main.log", "line 16"),
            "encryptKey",
            "log",
            band,
            datetime(2024, 2, 20, 18, 5, 31, 900000),
            own,
        ),
    }
    assert result.problems == []


def test_bundle_gzip_member_provenance_is_exact(bundle: Path) -> None:
    zip_path = bundle / lb.ZIP
    result = scan([zip_path])
    [first_pairing] = [c for c in result.candidates if c.key == lb.WATCH_KEYS[0]]
    assert first_pairing.provenance == (
        str(zip_path),
        "XiaomiFit.device.log.bak.2.gz",
        "XiaomiFit.device.log.bak.2",
        "line 3",
    )


def test_bundle_newest_key_wins_by_line_time_not_file_order(bundle: Path) -> None:
    result = scan([bundle / lb.ZIP])
    assert _chosen(result) == {lb.WATCH_MAC: lb.WATCH_KEYS[2], lb.BAND_MAC: lb.BAND_KEY}
    [watch] = [d for d in result.devices if d.device.mac == lb.WATCH_MAC]
    assert watch.chosen.provenance[1:] == ("XiaomiFit.device.log", "line 31")
    assert {c.key for c in watch.alternatives} == set(lb.WATCH_KEYS[:2])
    assert watch.device.model == lb.WATCH_MODEL
    assert watch.device.name == "Xiaomi Watch S1"


def test_two_device_infos_on_one_line_each_key_takes_its_own_device(bundle: Path) -> None:
    result = scan([bundle / lb.ZIP])
    line_31 = {c.key: c.device for c in result.candidates if c.provenance[-1] == "line 31"}
    assert line_31[lb.WATCH_KEYS[2]].mac == lb.WATCH_MAC
    assert line_31[lb.WATCH_KEYS[2]].model == lb.WATCH_MODEL
    assert line_31[lb.BAND_KEY].mac == lb.BAND_MAC
    assert line_31[lb.BAND_KEY].model == lb.BAND_MODEL
    assert line_31[lb.BAND_KEY].name == "Xiaomi Smart Band 8"


def test_bundle_decoys_are_never_candidates(bundle: Path) -> None:
    result = scan([bundle / lb.ZIP])
    found = {c.key for c in result.candidates}
    assert found == {*lb.WATCH_KEYS, lb.BAND_KEY}
    for decoy in [*lb.DECOYS.values(), lb.SHA1_AFTER_TOKEN[:32], lb.SHA1_AFTER_TOKEN[8:]]:
        assert decoy not in found


def test_bundle_confidence_follows_the_field_and_its_context(bundle: Path) -> None:
    result = scan([bundle / lb.ZIP])
    by_field = {(c.field, c.confidence) for c in result.candidates}
    # no app in a Download/ bundle: token beside DeviceInfo(...) is medium, encryptKey high
    assert by_field == {("token", "medium"), ("encryptKey", "high")}


def test_loose_log_on_the_phone(bundle: Path) -> None:
    result = scan([bundle / lb.LOOSE])
    facts = {(c.key, c.provenance[1:], c.field, c.app, c.confidence) for c in result.candidates}
    assert facts == {
        (lb.HUAMI_KEY, ("line 11",), "authKey", "com.xiaomi.wearable", "high"),
        # a bare token in a wearable app's log: listed, never chosen
        (lb.LOOSE_TOKEN, ("line 12",), "token", "com.xiaomi.wearable", "low"),
    }
    assert _chosen(result) == {lb.HUAMI_MAC: lb.HUAMI_KEY}
    [device] = result.devices
    assert device.device.model == "hmpace.watch.v7"


def test_folder_scan_matches_expected(bundle: Path) -> None:
    for expected in lb.build(bundle):
        result = scan([bundle / expected.input])
        found = {c.key for c in result.candidates}
        assert expected.keys <= found
        assert not expected.absent & found
        assert _chosen(result) == expected.devices


def test_hex_without_a_key_field_is_never_a_candidate(tmp_path: Path) -> None:
    digest = fake_key("plain-md5")
    path = _write(
        tmp_path / "app.log",
        f"upload done md5 {digest}\nchecksum={digest}\n{digest}\n"
        f"accessToken={digest} app_token={digest} authKeyMd5={digest}\n"
        f"token={digest}0 authKey={digest[:31]}\n",
    )
    result = scan([path])
    assert result.candidates == []
    assert result.problems == []


def test_field_forms_and_values(tmp_path: Path) -> None:
    keys = [fake_key(f"forms-{i}") for i in range(6)]
    mac = fake_mac("forms")
    path = _write(
        tmp_path / "forms.txt",
        f"AUTHKEY: 0X{keys[0].upper()}\r\n"
        f'{{"huamiAuthKey":"{keys[1]}","model":"hmpace.watch.v7"}}\n'
        f'payload {{\\"auth_key\\":\\"0x{keys[2]}\\",\\"mac\\":\\"{mac}\\"}}\n'
        f"encrypt_key = '{keys[3]}' mac:{mac}\n"
        f'<string name="authkey">0x{keys[4]}</string>\n'
        f"bad bytes \xff\xfe then encryptKey={keys[5]}\n".encode("latin-1"),
    )
    result = scan([path])
    facts = {(c.key, c.field, c.provenance[-1], c.device.mac) for c in result.candidates}
    assert facts == {
        (keys[0], "AUTHKEY", "line 1", None),
        (keys[1], "huamiAuthKey", "line 2", None),
        (keys[2], "auth_key", "line 3", mac),
        (keys[3], "encrypt_key", "line 4", mac),
        (keys[4], "authkey", "line 5", None),
        (keys[5], "encryptKey", "line 6", None),
    }
    assert {c.method for c in result.candidates} == {"log"}


def test_token_needs_a_wearable_near_it(tmp_path: Path) -> None:
    alone, beside = fake_key("token-alone"), fake_key("token-beside")
    path = _write(
        tmp_path / "other.log",
        f"refresh token={alone}\n"
        f"DeviceInfo(address={fake_mac('tok')}, model=miwear.watch.m66, token={beside})\n",
    )
    result = scan([path])
    assert [(c.key, c.confidence) for c in result.candidates] == [(beside, "medium")]


def test_lines_without_a_time_use_the_entry_above_or_the_file_time(tmp_path: Path) -> None:
    first, second = fake_key("untimed-1"), fake_key("untimed-2")
    path = _write(
        tmp_path / "mixed.log",
        f"header line authKey={first}\n"
        "2024-02-01 10:00:00.500|3.26.0i|I|Dump_1_1|dump follows\n"
        f"  authKey={second}\n",
    )
    result = scan([path])
    times = {c.key: (c.timestamp, c.timestamp_source) for c in result.candidates}
    assert times == {
        first: (MTIME, "file mtime"),
        second: (
            datetime(2024, 2, 1, 10, 0, 0, 500000),
            "log line time of the entry above (local, no zone)",
        ),
    }


def test_over_long_line_is_read_in_windows_without_loss_or_repeat(tmp_path: Path) -> None:
    keys = [fake_key(f"long-{i}") for i in range(4)]
    window = 1 << 20
    line = bytearray(b"x" * (3 * window))
    # one key cut by each window edge, one well inside, one at the very end
    for key, at in ((keys[0], window - 20), (keys[1], 2 * window - 45), (keys[2], window + 5000)):
        entry = f" authKey={key} ".encode()
        line[at : at + len(entry)] = entry
    data = b"short line\n" + bytes(line) + f" authKey={keys[3]}".encode()
    result = scan([_write(tmp_path / "long.log", data)])
    assert sorted((c.key, c.provenance[-1]) for c in result.candidates) == sorted(
        (key, "line 2") for key in keys
    )


def test_same_key_twice_on_a_line_is_one_sighting(tmp_path: Path) -> None:
    key = fake_key("twice")
    path = _write(tmp_path / "twice.log", f"authKey={key} auth_key={key}\n")
    assert [c.field for c in scan([path]).candidates] == ["authKey"]


def test_format_is_decided_by_content_not_name(tmp_path: Path) -> None:
    key = fake_key("by-content")
    log_named_json = _write(tmp_path / "looks.json", f"plain text authKey={key}\n")
    json_named_log = _write(tmp_path / "looks.log", f'{{"authKey": "{key}"}}\n')
    assert [c.method for c in scan([log_named_json]).candidates] == ["log"]
    assert [(c.method, c.provenance[-1]) for c in scan([json_named_log]).candidates] == [
        ("json", "$.authKey")
    ]


def test_chinese_log_lines_are_text(tmp_path: Path) -> None:
    key, mac = fake_key("chinese"), fake_mac("chinese")
    filler = "2024-02-28 21:00:00.000|3.26.0i|I|Ui_1_1|设备已连接，正在同步数据 小米手环8\n" * 80
    line = (
        "2024-02-28 21:14:04.020|3.26.0i|I|DeviceManager_1_2|更新设备 "
        f"DeviceInfo(address={mac}, model=miwear.watch.m66, type=6, token={key},"
        "did=1, deviceName=小米手环8)\n"
    )
    result = scan([_write(tmp_path / "XiaomiFit.device.log", filler + line)])
    assert [(c.key, c.device.mac, c.device.name, c.provenance[-1]) for c in result.candidates] == [
        (key, mac, "小米手环8", "line 81")
    ]


_FILLER = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF, blacklist_categories=("Cs",)),
    max_size=60,
).filter(lambda s: "key" not in s.lower() and "token" not in s.lower())


@settings(max_examples=200, deadline=None)
@given(before=_FILLER, after=_FILLER, digest=st.binary(min_size=16, max_size=16))
def test_only_hex_beside_a_key_field_counts(before: str, after: str, digest: bytes) -> None:
    value = digest.hex()
    bare = f"{before} {value} {after}".encode()
    assert keys_in_text(bare) == []
    labelled = f"{before} authKey={value} {after}".encode()
    found = [(hit.field, hit.key) for hit in keys_in_text(labelled)]
    expected = [] if value in ("0" * 32, "f" * 32) else [("authKey", value)]
    assert found == expected
