"""Passwords are bytes as much as text: closed standard input, Latin-1 password files,
non-UTF-8 arguments. Every given password is tried in each format's encodings, and no
part of a password is ever shown."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pyzipper
from typer.testing import CliRunner

from corpus.common import fake_key, fake_mac
from corpus.samples.adb_backups import Band, ab_bytes, zepp_members
from corpus.samples.archives import AES_PASSWORD, raw_zip, zipcrypto_encrypt
from corpus.samples.twrp import PASSWORD as TWRP_PASSWORD
from corpus.samples.twrp import device_log
from scanner.cli import app
from scanner.context import ScanOptions
from scanner.passwords import Password
from tests.helpers import scan_context

ROOT = Path(__file__).resolve().parents[1]
LATIN = "pässwörd"
runner = CliRunner()


def _aes_zip(path: Path, password: bytes, label: str) -> str:
    """A WinZip-AES zip holding one device log; its key."""
    mac, key = fake_mac(label), fake_key(label)
    out = io.BytesIO()
    with pyzipper.AESZipFile(out, "w", encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(password)
        archive.writestr("log/XiaomiFit.device.log", device_log(mac, key))
    path.write_bytes(out.getvalue())
    return key


def _zipcrypto_zip(path: Path, password: bytes, label: str) -> str:
    """A ZipCrypto (stored) zip holding one device log; its key."""
    mac, key = fake_mac(label), fake_key(label)
    data = device_log(mac, key).encode()
    name = "log/XiaomiFit.device.log"
    crc = zlib.crc32(data)
    payload = zipcrypto_encrypt(data, password, crc, label)
    path.write_bytes(raw_zip([(name, payload, zipfile.ZIP_STORED, 0x1, crc, len(data))]))
    return key


def _adb(path: Path, password: str, label: str) -> set[str]:
    band = Band(label)
    path.write_bytes(ab_bytes(zepp_members(band), password=password, label=band.label))
    return {band.key, band.prefs_key}


def _keys(stdout: str) -> set[str]:
    return {device["key"] for device in json.loads(stdout)["devices"]}


def test_closed_standard_input_means_no_prompt(tmp_path: Path) -> None:
    path = tmp_path / "locked.ab"
    _adb(path, "secret", "closed-stdin")
    env = {k: v for k, v in os.environ.items() if k != "KEYSCAN_PASSWORD"}
    done = subprocess.run(
        [sys.executable, "-m", "scanner", "scan", str(path), "--json"],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        preexec_fn=lambda: os.close(0),  # the shell's `<&-`
        check=False,
    )
    assert b"Traceback" not in done.stderr
    assert [p["kind"] for p in json.loads(done.stdout)["problems"]] == ["needs-password"]
    assert done.returncode == 3


def test_latin1_password_file_opens_zip_and_adb(tmp_path: Path) -> None:
    zipped = tmp_path / "export.zip"
    zip_key = _aes_zip(zipped, LATIN.encode("latin-1"), "latin-zip")
    backup = tmp_path / "phone.ab"
    adb_keys = _adb(backup, LATIN, "latin-adb")  # typed on the phone: UTF-8 inside
    secrets = tmp_path / "pw.txt"
    secrets.write_bytes(b"first-guess\r\n" + LATIN.encode("latin-1") + b"\n")
    result = runner.invoke(
        app,
        ["scan", str(zipped), str(backup), "--json", "--no-input", "--password-file", str(secrets)],
    )
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout)["problems"] == []
    assert _keys(result.stdout) == {zip_key, *adb_keys}
    assert result.exit_code == 0


def test_unencodable_arguments_do_not_stop_the_right_passwords(
    corpus: tuple[Path, dict], tmp_path: Path
) -> None:
    root, expected = corpus
    aes = "archives/storage-export-aes.zip"
    twrp = next(name for name in expected if name.startswith("twrp/") and expected[name].passwords)
    # Python hands a non-UTF-8 argument or variable over as lone surrogates (PEP 383).
    args = ["scan", str(root / aes), str(root / twrp), "--json", "--no-input"]
    args += ["-p", "\udcff\udce9t\udcff", "-p", AES_PASSWORD, "-p", TWRP_PASSWORD]
    result = runner.invoke(app, args, env={"KEYSCAN_PASSWORD": "\udce9\udcff"})
    assert "Traceback" not in result.stderr
    doc = json.loads(result.stdout)
    assert doc["problems"] == []
    assert _keys(result.stdout) == expected[aes].keys | expected[twrp].keys
    assert result.exit_code == 0


def test_no_part_of_a_wrong_password_is_shown(corpus: tuple[Path, dict]) -> None:
    root, expected = corpus
    inputs = [name for name in expected if expected[name].passwords]
    secret = "\udcffsecr\u00e9t\udce9"
    args = ["scan", *(str(root / name) for name in inputs), "--no-input", "-p", secret]
    for extra in (["--json"], []):
        result = runner.invoke(app, [*args, *extra], env={"KEYSCAN_PASSWORD": ""})
        shown = result.stdout + result.stderr
        assert "Traceback" not in shown
        assert not any(part in shown for part in ("secr", "\u00e9t", "\udcff", "\u00ff", "\\xff"))
        kinds = {p["kind"] for p in json.loads(result.stdout)["problems"]} if extra else set()
        assert kinds <= {"wrong-password"}


def test_zip_passwords_are_tried_as_given_and_as_cp437(tmp_path: Path) -> None:
    """Old Windows zip tools encode the password in the OEM code page (CP437)."""
    cp437 = tmp_path / "cp437.zip"
    key = _zipcrypto_zip(cp437, LATIN.encode("cp437"), "cp437-zip")
    result = runner.invoke(app, ["scan", str(cp437), "--json", "--no-input", "-p", LATIN])
    assert _keys(result.stdout) == {key}
    raw = tmp_path / "raw.zip"
    key = _zipcrypto_zip(raw, b"\xff\xfe-bytes", "raw-zip")
    result = runner.invoke(
        app, ["scan", str(raw), "--json", "--no-input", "-p", "\udcff\udcfe-bytes"]
    )
    assert _keys(result.stdout) == {key}


def test_password_never_shows_itself() -> None:
    password = Password.of("hunter2")
    assert "hunter2" not in repr(password) and "hunter2" not in str(password)
    assert password.raw == b"hunter2"
    assert Password.of(b"p\xe4ss").texts() == ["p\u00e4ss"]  # not UTF-8: read as Latin-1
    assert Password.of("p\u00e4ss").texts() == ["p\u00e4ss"]


def test_wrong_typed_passwords_are_asked_again_up_to_three_times() -> None:
    asked: list[int] = []

    def ask(provenance: tuple[str, ...], failed: int) -> str | None:
        asked.append(failed)
        return f"guess{len(asked)}"

    ctx = scan_context(ScanOptions(passwords=["known"], ask_password=ask))
    tried = [p.raw for p in ctx.passwords(("x.ab",))]
    assert tried == [b"known", b"guess1", b"guess2", b"guess3"]
    assert asked == [1, 2, 3]  # how many had failed when each prompt was shown
