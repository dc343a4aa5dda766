"""huami-token and freemyband output: labels that count only in the tool's own shape."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from corpus.common import fake_key, fake_mac, write
from corpus.samples import server_answer as sa
from scanner.pipeline import scan

MTIME = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tool_samples")
    sa.build(root)
    return root


def _write(path: Path, text: str) -> Path:
    return write(path, text, int(MTIME.timestamp()))


def test_huami_token_table_and_device_blocks(samples: Path) -> None:
    path = samples / sa.HUAMI_TOKEN
    result = scan([path])
    facts = {
        (c.key, c.provenance, c.field, c.device.mac, c.method, c.confidence)
        for c in result.candidates
    }
    p = str(path)
    assert facts == {
        (sa.BAND_A_KEY, (p, "line 9"), "auth_key", sa.BAND_A_MAC, "text", "high"),
        (sa.BAND_B_KEY, (p, "line 10"), "auth_key", sa.BAND_B_MAC, "text", "high"),
        (sa.OLD_BAND_KEY, (p, "line 11"), "auth_key", sa.OLD_BAND_MAC, "text", "high"),
        (sa.BAND_A_KEY, (p, "line 25"), "Key", sa.BAND_A_MAC, "text", "high"),
        (sa.BAND_B_KEY, (p, "line 28"), "Key", sa.BAND_B_MAC, "text", "high"),
    }
    assert {(c.timestamp, c.timestamp_source) for c in result.candidates} == {(MTIME, "file mtime")}
    # the scale ("0x00" in the table, an empty "Key: 0x") and login_token are not keys
    assert sa.LOGIN_TOKEN not in {c.key for c in result.candidates}
    assert {d.device.mac: d.chosen.key for d in result.devices} == {
        sa.BAND_A_MAC: sa.BAND_A_KEY,
        sa.BAND_B_MAC: sa.BAND_B_KEY,
        sa.OLD_BAND_MAC: sa.OLD_BAND_KEY,
    }
    assert result.problems == []


def test_key_label_outside_the_tool_shape_is_not_a_field(tmp_path: Path) -> None:
    key, mac = fake_key("loose-label"), fake_mac("loose-label")
    path = _write(
        tmp_path / "notes.txt",
        f"Key: 0x{key}\n"
        f"MAC: {mac}, Active: Yes\n"
        f"  Key: 0x{key}\n"
        "| name | value |\n"
        f"| Key  | 0x{key} |\n",
    )
    assert scan([path]).candidates == []


def test_a_device_block_ends_at_an_unrelated_line(tmp_path: Path) -> None:
    first, late = fake_key("block-first"), fake_key("block-late")
    mac = fake_mac("block")
    path = _write(
        tmp_path / "run.txt",
        f"Device 0:\n  MAC: {mac}, Active: Yes\n  Key: 0x{first}\nLogged out.\n  Key: 0x{late}\n",
    )
    result = scan([path])
    assert [(c.key, c.device.mac, c.provenance[-1]) for c in result.candidates] == [
        (first, mac, "line 3")
    ]


def test_rich_unicode_table(tmp_path: Path) -> None:
    key, mac = fake_key("rich"), fake_mac("rich")
    path = _write(
        tmp_path / "rich.txt",
        "┏━━━━┳━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓\n"
        "┃ ID ┃ ACT ┃        MAC        ┃              auth_key              ┃\n"
        "┡━━━━╇━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩\n"
        f"│ 0  │  1  │ {mac} │ 0x{key} │\n"
        "└────┴─────┴───────────────────┴────────────────────────────────────┘\n",
    )
    result = scan([path])
    assert [(c.key, c.device.mac, c.field, c.provenance[-1]) for c in result.candidates] == [
        (key, mac, "auth_key", "line 4")
    ]


def test_freemyband_file(samples: Path) -> None:
    path = samples / sa.FREEMYBAND
    result = scan([path])
    assert [
        (c.key, c.device.mac, c.field, c.provenance[-1], c.confidence) for c in result.candidates
    ] == [(sa.FREEMYBAND_KEY, sa.FREEMYBAND_MAC, "freemyband", "line 1", "high")]
    assert {d.device.mac: d.chosen.key for d in result.devices} == {
        sa.FREEMYBAND_MAC: sa.FREEMYBAND_KEY
    }


def test_freemyband_labelled_lines_take_the_mac_above(tmp_path: Path) -> None:
    key, mac = fake_key("fmb-label"), fake_mac("fmb-label")
    digest = fake_key("fmb-md5")
    text = f"Mi Smart Band 4 {mac}\nAuth key: {key}\nMD5: {digest}\n"
    inside = _write(tmp_path / "sdcard/freemyband/key.txt", text)
    outside = _write(tmp_path / "elsewhere/key.txt", text)
    assert [(c.key, c.device.mac, c.field) for c in scan([inside]).candidates] == [
        (key, mac, "Auth key")
    ]
    # the same bare value outside the tool's folder has no key field beside it
    assert scan([outside]).candidates == []
