"""XML preferences: shared_prefs, Gadgetbridge exports, DTD refusal, fallbacks."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from corpus.common import epoch, fake_key, fake_mac, write
from corpus.samples import gadgetbridge as gb
from scanner.context import Limits, ScanOptions
from scanner.pipeline import scan

MTIME = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
HEADER = "<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n"


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("xml_samples")
    gb.build(root)
    return root


def _write(path: Path, text: str) -> Path:
    return write(path, text, int(MTIME.timestamp()))


def test_legacy_export_capital_string_mac_from_file_name(samples: Path) -> None:
    path = samples / gb.LEGACY
    result = scan([path])
    [candidate] = result.candidates
    assert candidate.provenance == (str(path), "String[@name='authkey']")
    assert (candidate.key, candidate.field, candidate.method) == (gb.GTS_OLD_KEY, "authkey", "xml")
    assert candidate.device.mac == gb.GTS_MAC
    assert candidate.timestamp == datetime.fromtimestamp(epoch(2023, 5, 1), tz=timezone.utc)
    assert candidate.timestamp_source == "file mtime"
    assert result.problems == []


def test_devicesettings_shared_prefs(samples: Path) -> None:
    path = samples / gb.DEVICESETTINGS
    result = scan([path])
    assert [(c.provenance, c.key, c.device.mac) for c in result.candidates] == [
        ((str(path), "string[@name='authkey']"), gb.BIP_KEY, gb.BIP_MAC)
    ]


def test_folder_newest_copy_wins_across_formats(samples: Path) -> None:
    result = scan([samples / gb.FOLDER])
    chosen = {d.device.mac: d.chosen for d in result.devices}
    assert {mac: c.key for mac, c in chosen.items()} == {
        gb.GTS_MAC: gb.GTS_KEY,
        gb.LITE_MAC: gb.LITE_ACCOUNT_ID,
        gb.BIP_MAC: gb.BIP_KEY,
    }
    # the legacy XML's older key is kept as an alternative, not chosen
    [gts] = [d for d in result.devices if d.device.mac == gb.GTS_MAC]
    assert [(c.key, c.method) for c in gts.alternatives] == [(gb.GTS_OLD_KEY, "xml")]


def test_doctype_is_refused_but_its_text_is_still_searched(tmp_path: Path) -> None:
    key = fake_key("dtd")
    path = _write(
        tmp_path / "prefs.xml",
        HEADER + '<!DOCTYPE map [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>\n'
        f'<map>\n<string name="authkey">0x{key}</string>\n<string name="x">&b;</string>\n</map>\n',
    )
    result = scan([path])
    assert [(p.kind, p.provenance) for p in result.problems] == [("unsupported", (str(path),))]
    assert [(c.key, c.method, c.provenance[-1]) for c in result.candidates] == [
        (key, "text", "line 4")
    ]


def test_cut_off_xml_falls_back_to_lines_without_a_problem(tmp_path: Path) -> None:
    key = fake_key("cut-xml")
    path = _write(
        tmp_path / "cut.xml",
        HEADER + f'<map>\n    <string name="authkey">0x{key}</string>\n    <str',
    )
    result = scan([path])
    assert [(c.key, c.method, c.provenance[-1]) for c in result.candidates] == [
        (key, "text", "line 3")
    ]
    assert result.problems == []


def test_xml_over_the_parse_limit(tmp_path: Path) -> None:
    key = fake_key("big-xml")
    filler = "".join(f'  <int name="p{i}" value="{i}" />\n' for i in range(100))
    path = _write(
        tmp_path / "big.xml",
        HEADER + "<map>\n" + filler + f'  <string name="authkey">{key}</string>\n</map>\n',
    )
    result = scan([path], ScanOptions(limits=Limits(max_text_bytes=512)))
    assert [(c.key, c.method, c.provenance[-1]) for c in result.candidates] == [
        (key, "text", "line 103")
    ]
    assert [(p.kind, p.provenance) for p in result.problems] == [("limit", (str(path),))]


def test_app_prefs_sibling_mac_json_string_and_times(tmp_path: Path) -> None:
    mac, other_mac = fake_mac("prefs-sibling"), fake_mac("prefs-json")
    key, json_key = fake_key("prefs-sibling"), fake_key("prefs-json")
    bound = epoch(2024, 2, 2, 8, 0)
    _write(
        tmp_path / "data/data/com.xiaomi.hm.health/shared_prefs/hm_device.xml",
        HEADER + "<map>\n"
        f'    <string name="last_mac_address">{mac}</string>\n'
        f'    <string name="auth_key">{key}</string>\n'
        f'    <long name="last_bind_time" value="{bound * 1000}" />\n'
        '    <string name="bound_device">'
        f"{{&quot;mac&quot;:&quot;{other_mac}&quot;,&quot;encrypt_key&quot;:&quot;{json_key}&quot;,"
        "&quot;model&quot;:&quot;miwear.watch.m66&quot;}</string>\n"
        "</map>\n",
    )
    result = scan([tmp_path])
    facts = {
        (c.key, c.provenance[-1], c.field, c.device.mac, c.device.model, c.app, c.confidence)
        for c in result.candidates
    }
    app = "com.xiaomi.hm.health"
    assert facts == {
        (key, "string[@name='auth_key']", "auth_key", mac, None, app, "high"),
        (
            json_key,
            "string[@name='bound_device']/$.encrypt_key",
            "encrypt_key",
            other_mac,
            "miwear.watch.m66",
            app,
            "high",
        ),
    }
    times = {(c.timestamp, c.timestamp_source) for c in result.candidates}
    assert times == {(datetime.fromtimestamp(bound, tz=timezone.utc), "xml field last_bind_time")}


def test_tag_named_elements_each_take_their_own_device(tmp_path: Path) -> None:
    macs = [fake_mac("tag-0"), fake_mac("tag-1")]
    keys = [fake_key("tag-0"), fake_key("tag-1")]
    devices = "".join(
        f"  <device><mac>{m}</mac><name>Band {i}</name><authKey>0x{k}</authKey></device>\n"
        for i, (m, k) in enumerate(zip(macs, keys, strict=True))
    )
    path = _write(tmp_path / "export.xml", HEADER + "<devices>\n" + devices + "</devices>\n")
    facts = {
        (c.key, c.provenance[-1], c.device.mac, c.device.name) for c in scan([path]).candidates
    }
    assert facts == {
        (keys[0], "device[1]/authKey", macs[0], "Band 0"),
        (keys[1], "device[2]/authKey", macs[1], "Band 1"),
    }


def test_account_id_and_default_key_in_xml(tmp_path: Path) -> None:
    lite, band2 = fake_mac("xml-lite"), fake_mac("xml-band2")
    lite_path = _write(
        tmp_path / f"devicesettings_{lite}.xml",
        HEADER + '<map>\n    <string name="authkey">6012345678</string>\n</map>\n',
    )
    band2_path = _write(
        tmp_path / f"devicesettings_{band2}.xml",
        HEADER + f'<map>\n    <string name="authkey">{gb.DEFAULT_KEY}</string>\n</map>\n',
    )
    result = scan([lite_path, band2_path])
    assert [(c.key, c.device.mac, c.gadgetbridge) for c in result.candidates] == [
        ("6012345678", lite, "6012345678")
    ]
    assert result.problems == []


def test_html_is_not_xml_prefs_but_still_searched(tmp_path: Path) -> None:
    key = fake_key("html")
    path = _write(tmp_path / "page.html", f"<html><body><p>authKey: {key}<br></body></html>\n")
    result = scan([path])
    assert [(c.key, c.method) for c in result.candidates] == [(key, "text")]
    assert result.problems == []


def test_a_document_that_is_one_element(tmp_path: Path) -> None:
    key = fake_key("one-element")
    path = _write(tmp_path / "key.xml", f"<authKey>0x{key.upper()}</authKey>")
    assert [(c.key, c.provenance[-1], c.method) for c in scan([path]).candidates] == [
        (key, "authKey", "xml")
    ]


def test_a_name_spelled_with_character_references_is_still_walked(tmp_path: Path) -> None:
    """Preferences without "key" or "token" in their folded text are not walked; a name
    spelled with ``&#...;`` references must be."""
    key = fake_key("xml-char-ref")
    text = f'<map><string name="auth_&#107;&#x65;y">{key}</string></map>'
    path = _write(tmp_path / "shared_prefs" / "prefs.xml", text)
    [candidate] = scan([path]).candidates
    assert (candidate.key, candidate.field, candidate.method) == (key, "auth_key", "xml")


def test_siblings_are_read_only_above_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scanner.formats.xml import extractor as xml

    parents: list[str] = []
    original = xml._Context.__init__

    def counted(self: object, parent: object, named: str | None) -> None:
        parents.append(str(getattr(parent, "tag", "")))
        original(self, parent, named)  # type: ignore[arg-type]

    monkeypatch.setattr(xml._Context, "__init__", counted)
    key = fake_key("xml-lazy")
    groups = "".join(f"<group><int name='n{i}' value='{i}'/></group>" for i in range(30))
    prefs = f"<map>{groups}<band><string name='model'>hmpace.watch.v7</string>"
    prefs += f"<string name='authKey'>{key}</string></band></map>"
    path = write(tmp_path / "prefs.xml", prefs.encode())
    [candidate] = scan([path]).candidates
    assert (candidate.key, candidate.device.model) == (key, "hmpace.watch.v7")
    assert parents == ["band"]
