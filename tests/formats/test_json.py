"""JSON documents: Zepp server answers, Gadgetbridge exports, fallbacks and limits."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from corpus.common import fake_key, fake_mac
from corpus.samples import gadgetbridge as gb
from corpus.samples import server_answer as sa
from scanner.context import Limits, ScanOptions
from scanner.model import ScanResult
from scanner.pipeline import scan

MTIME = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("json_samples")
    sa.build(root)
    gb.build(root)
    return root


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (MTIME.timestamp(), MTIME.timestamp()))
    return path


def _chosen(result: ScanResult) -> dict[str | None, str]:
    return {d.device.mac: d.chosen.key for d in result.devices}


def test_zepp_answer_keys_paths_and_binding_times(samples: Path) -> None:
    result = scan([samples / sa.DEVICES])
    facts = {
        (c.key, c.provenance[1:], c.field, c.method, c.device.mac, c.timestamp, c.timestamp_source)
        for c in result.candidates
    }
    bound_a = datetime.fromtimestamp(sa.BAND_A_BOUND, tz=timezone.utc)
    bound_b = datetime.fromtimestamp(sa.BAND_B_BOUND, tz=timezone.utc)
    source = "json field lastBindingTime"
    assert facts == {
        (
            sa.BAND_A_KEY,
            ("$.items[0].additionalInfo.auth_key",),
            "auth_key",
            "json",
            sa.BAND_A_MAC,
            bound_a,
            source,
        ),
        (
            sa.BAND_B_KEY,
            ("$.items[1].additionalInfo.auth_key",),
            "auth_key",
            "json",
            sa.BAND_B_MAC,
            bound_b,
            source,
        ),
    }
    # the scale has no auth_key: skipped without a problem
    assert result.problems == []
    assert _chosen(result) == {sa.BAND_A_MAC: sa.BAND_A_KEY, sa.BAND_B_MAC: sa.BAND_B_KEY}
    found = {c.key for c in result.candidates}
    assert not {sa.FIRMWARE_MD5, sa.SCALE_SN, sa.SCALE_SN.lower()} & found


def test_gadgetbridge_export_zip(samples: Path) -> None:
    zip_path = samples / gb.ZIP
    result = scan([zip_path])
    json_candidates = [c for c in result.candidates if c.method == "json"]
    assert {(c.provenance, c.key, c.field, c.device.mac) for c in json_candidates} == {
        (
            (str(zip_path), f"preferences/device_{gb.GTS_MAC}.json", "$.preferences.authkey"),
            gb.GTS_KEY,
            "authkey",
            gb.GTS_MAC,
        ),
        (
            (str(zip_path), f"preferences/device_{gb.LITE_MAC}.json", "$.preferences.authkey"),
            gb.LITE_ACCOUNT_ID,  # Mi Watch Lite: the account id, kept as digits
            "authkey",
            gb.LITE_MAC,
        ),
    }
    assert {(c.timestamp, c.timestamp_source) for c in json_candidates} == {
        (MTIME.replace(tzinfo=None), "zip member time (local, zone unknown)")  # DOS time
    }
    found = {c.key for c in result.candidates}
    assert gb.DEFAULT_KEY not in found  # Gadgetbridge's placeholder is not a key
    assert gb.WEATHER_API_KEY not in found
    assert [p for p in result.problems if p.provenance[-1].endswith(".json")] == []
    lite = [d for d in result.devices if d.device.mac == gb.LITE_MAC]
    assert [d.chosen.gadgetbridge for d in lite] == [gb.LITE_ACCOUNT_ID]


def test_mac_in_the_document_beats_the_file_name(tmp_path: Path) -> None:
    named, inside, key = fake_mac("json-named"), fake_mac("json-inside"), fake_key("json-own")
    path = _write(tmp_path / f"device_{named}.json", json.dumps({"mac": inside, "encryptKey": key}))
    assert [c.device.mac for c in scan([path]).candidates] == [inside]


def test_log_lines_kept_as_json_strings(tmp_path: Path) -> None:
    mac, key = fake_mac("json-log"), fake_key("json-log")
    line = (
        "2024-02-28 21:14:04.020|3.26.0i|I|DeviceManager_1873_2|update deviceInfo = "
        f"DeviceInfo(address={mac}, model=miwear.watch.n67cn, type=7, token={key},did=1)"
    )
    path = _write(tmp_path / "feedback.json", json.dumps({"logs": ["start", line]}))
    [candidate] = scan([path]).candidates
    assert candidate.provenance[-1] == "$.logs[1]"
    assert (candidate.method, candidate.field, candidate.device.mac) == ("json", "token", mac)
    assert candidate.timestamp == datetime(2024, 2, 28, 21, 14, 4, 20000)


def test_malformed_json_falls_back_to_lines_without_a_problem(tmp_path: Path) -> None:
    mac, key = fake_mac("cut-json"), fake_key("cut-json")
    path = _write(
        tmp_path / "cut.json",
        f'{{"items": [\n  {{"macAddress": "{mac}",\n   "auth_key": "{key}", "sn',
    )
    result = scan([path])
    assert [(c.key, c.method, c.provenance[-1], c.device.mac) for c in result.candidates] == [
        (key, "text", "line 3", None)
    ]
    assert result.problems == []


def test_json_lines_are_searched_line_by_line(tmp_path: Path) -> None:
    keys = [fake_key("jsonl-0"), fake_key("jsonl-1")]
    macs = [fake_mac("jsonl-0"), fake_mac("jsonl-1")]
    path = _write(
        tmp_path / "events.jsonl",
        "".join(
            json.dumps({"mac": m, "authKey": k}) + "\n" for m, k in zip(macs, keys, strict=True)
        ),
    )
    result = scan([path])
    assert {(c.key, c.device.mac, c.provenance[-1]) for c in result.candidates} == {
        (keys[0], macs[0], "line 1"),
        (keys[1], macs[1], "line 2"),
    }
    assert result.problems == []


def test_too_deep_json_is_searched_as_text(tmp_path: Path) -> None:
    key = fake_key("deep")
    depth = 50_000
    path = _write(tmp_path / "deep.json", '{"a":' * depth + f'{{"authKey":"{key}"}}' + "}" * depth)
    result = scan([path])
    assert [(c.key, c.method) for c in result.candidates] == [(key, "text")]
    assert result.problems == []


def test_json_over_the_parse_limit_is_a_limit_problem_and_still_searched(tmp_path: Path) -> None:
    key = fake_key("big-json")
    body = {"padding": "x" * 4000, "device": {"authKey": key}}
    path = _write(tmp_path / "big.json", json.dumps(body, indent=1))
    options = ScanOptions(limits=Limits(max_text_bytes=1024))
    result = scan([path], options)
    assert [(c.key, c.method, c.provenance[-1]) for c in result.candidates] == [
        (key, "text", "line 4")
    ]
    assert [(p.kind, p.provenance) for p in result.problems] == [("limit", (str(path),))]


def test_gadgetbridge_default_key_alone_gives_nothing(tmp_path: Path) -> None:
    path = _write(
        tmp_path / f"device_{fake_mac('default')}.json",
        json.dumps({"preferences": {"authkey": {"type": "String", "value": gb.DEFAULT_KEY}}}),
    )
    result = scan([path])
    assert result.candidates == []
    assert result.devices == []


@pytest.mark.parametrize(
    ("field_json", "field"),
    [
        ('"authKey"', "authKey"),
        ('"\\u0061uth_\\u006Bey"', "auth_key"),  # escaped letters spell the name
        ('"a_u-t_h_k_e_y"', "a_u-t_h_k_e_y"),  # folds to authkey
        ('"AUTH\u212aEY"', "AUTH\u212aEY"),  # the Kelvin sign lowercases to "k"
    ],
)
def test_field_names_the_quick_check_must_not_miss(
    tmp_path: Path, field_json: str, field: str
) -> None:
    """Documents without "key" or "token" in their folded text are not walked: names
    spelled any other way must still be walked."""
    key = fake_key(f"json-spelled-{field}")
    path = _write(tmp_path / "answer.json", f'{{"data": {{{field_json}: "{key}"}}}}')
    [candidate] = scan([path]).candidates
    assert (candidate.key, candidate.field, candidate.method) == (key, field, "json")


def test_may_hold_key() -> None:
    from scanner.vocab.prefilter import Markup, may_hold_key

    assert not may_hold_key(b'{"seq": 1, "items": [957, 4903], "k": "ey"}', Markup.JSON)
    assert may_hold_key(b'{"T-O_KEN": 1}', Markup.JSON)
    assert may_hold_key(b'{"x": "\\u006b"}', Markup.JSON)
    assert not may_hold_key(b"<map><int name='seq' value='1'/></map>", Markup.XML)
    assert may_hold_key(b"<map><string name='auth&#95;key'>x</string></map>", Markup.XML)


def test_context_is_worked_out_only_for_the_objects_above_a_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from scanner.formats.json import walk

    worked_out: list[object] = []
    original = walk._context_of

    def counted(obj: dict[str, object], outer: walk._Context) -> walk._Context:
        worked_out.append(sorted(obj))
        return original(obj, outer)

    monkeypatch.setattr(walk, "_context_of", counted)
    key = fake_key("json-lazy")
    document = {
        "items": [{"name": f"n{i}", "mac": "C8:0F:10:E0:2F:21"} for i in range(50)],
        "band": {"model": "hmpace.watch.v7", "auth": {"authKey": key}},
    }
    [hit] = walk.walk_json(document)
    assert (hit.key, hit.path, hit.device.model) == (key, "$.band.auth.authKey", "hmpace.watch.v7")
    assert worked_out == [["band", "items"], ["auth", "model"], ["authKey"]]
