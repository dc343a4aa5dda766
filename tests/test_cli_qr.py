"""``scan --qr``: the QR code printed on the terminal decodes, with an independent decoder
(zxing-cpp), to exactly the text to paste: ``0x`` + the device's key. The printed half
blocks are read back into modules as a person's eye would see them (the glyph is the light
part), so a swapped glyph or inverted colours fail too."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpus.common import fake_key, fake_mac
from scanner.cli import app
from scanner.reports.qr import QUIET_ZONE, qr_modules
from tests.helpers import saved_answer

zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp (test extra) decodes QR codes")

runner = CliRunner()
PIXELS = 4  # per module: the decoder wants an image, not a matrix
# What each glyph shows, top half then bottom half: True where the glyph's colour (light)
# is drawn, i.e. a light module; the rest of the cell is the dark background.
LIGHT_HALVES = {"█": (True, True), "▀": (True, False), "▄": (False, True), " ": (False, False)}
QR_GLYPHS = set(LIGHT_HALVES)


def decode(dark: list[list[bool]]) -> str | None:
    """The text of the QR code whose modules are ``dark`` (True = dark), or None."""
    rows = [bytes(0 if module else 255 for module in row for _ in range(PIXELS)) for row in dark]
    image = b"".join(row for row in rows for _ in range(PIXELS))
    height, width = len(dark) * PIXELS, len(dark[0]) * PIXELS
    found = zxingcpp.read_barcode(
        memoryview(image).cast("B", (height, width)),
        formats=zxingcpp.BarcodeFormat.QRCode,
        try_invert=False,  # an inverted code must not pass
        try_rotate=False,
    )
    return found.text if found is not None else None


def modules_of(lines: list[str]) -> list[list[bool]]:
    """Half-block text back into rows of modules (True = dark)."""
    rows: list[list[bool]] = []
    for line in lines:
        halves = [LIGHT_HALVES[glyph] for glyph in line]
        rows.append([not top for top, _ in halves])
        rows.append([not bottom for _, bottom in halves])
    return rows


def printed_codes(text: str) -> list[tuple[str, list[str]]]:
    """Each ``QR code N of M:`` heading's key (the next line starts with it) and the
    half-block lines that follow (after the device's label, when it is on its own line)."""
    codes: list[tuple[str, list[str]]] = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("QR code "):
            key = lines[number + 1].split()[0]
            block: list[str] = []
            for below in lines[number + 2 :]:
                if below and set(below) <= QR_GLYPHS:
                    block.append(below)
                elif block:
                    break
            codes.append((key, block))
    return codes


@pytest.mark.parametrize("text", ["0x" + fake_key("qr-1"), "0x" + fake_key("qr-2"), "123456789"])
def test_modules_decode_to_the_text(text: str) -> None:
    modules = qr_modules(text)
    assert decode(modules) == text
    assert all(not any(row) for row in modules[:QUIET_ZONE])  # the light border is there


def test_a_different_text_does_not_decode_to_the_key() -> None:
    key = "0x" + fake_key("qr-1")
    assert decode(qr_modules("0x" + fake_key("qr-2"))) != key
    inverted = [[not module for module in row] for row in qr_modules(key)]
    assert decode(inverted) != key


def test_printed_codes_decode_to_each_device_key(tmp_path: Path) -> None:
    bands = {fake_mac(f"qr-{n}"): fake_key(f"qr-{n}") for n in range(2)}
    inputs = [
        str(saved_answer(tmp_path / f"answer{n}.json", mac, key))
        for n, (mac, key) in enumerate(bands.items())
    ]
    result = runner.invoke(app, ["scan", *inputs, "--qr"])
    assert result.exit_code == 0, result.output
    codes = printed_codes(result.stdout)
    assert {key for key, _ in codes} == {"0x" + key for key in bands.values()}
    for key, lines in codes:
        assert len(lines) == 19 and all(len(line) == 37 for line in lines)  # fits 40 columns
        assert "\x1b" not in "".join(lines)  # no colour codes into a pipe
        assert decode(modules_of(lines)) == key
    assert result.stdout.index(codes[0][0]) < result.stdout.index("QR code 1")  # key first


def test_no_qr_without_the_option(tmp_path: Path) -> None:
    answer = saved_answer(tmp_path / "answer.json", fake_mac("qr"), fake_key("qr"))
    result = runner.invoke(app, ["scan", str(answer)])
    assert result.exit_code == 0
    assert "QR code" not in result.stdout and "█" not in result.stdout


@pytest.mark.parametrize("other", ["--json", "--redact"])
def test_qr_with_json_or_redact_is_a_usage_error(tmp_path: Path, other: str) -> None:
    answer = saved_answer(tmp_path / "answer.json", fake_mac("qr"), fake_key("qr"))
    result = runner.invoke(app, ["scan", str(answer), "--qr", other])
    assert result.exit_code == 2
    assert "--qr" in result.stderr and fake_key("qr") not in result.output


def test_code_on_a_40_column_terminal_decodes_and_has_its_own_colours(tmp_path: Path) -> None:
    pytest.importorskip("pexpect", reason="pexpect (test extra) drives a pty; POSIX only")
    from tests.test_cli_pty import Terminal

    key = fake_key("qr-pty")
    answer = saved_answer(tmp_path / "answer.json", fake_mac("qr-pty"), key)
    term = Terminal(["scan", str(answer), "--qr"], cols=40)
    assert term.finish() == 0
    ((shown, lines),) = printed_codes(term.text)
    assert shown == "0x" + key
    assert decode(modules_of(lines)) == "0x" + key
    first = term.text.splitlines().index(lines[0])
    cells = [term.screen.buffer[first + n][column] for n in range(19) for column in range(37)]
    # Explicit colours: right on a light-themed terminal too (pyte names the SGR colours).
    assert {cell.bg for cell in cells} == {"black"}
    assert {cell.fg for cell in cells if cell.data != " "} == {"brightwhite"}


def test_help_explains_qr_and_what_a_pipe_gets() -> None:
    result = runner.invoke(app, ["scan", "--help"], env={"COLUMNS": "200"})
    assert "--qr" in result.stdout
    words = " ".join(result.stdout.replace("│", " ").split())  # the help's box, unwrapped
    assert "printed without colours" in words
