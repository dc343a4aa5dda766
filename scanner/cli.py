"""The ``keyscan`` command: ``scan`` finds keys, ``ls`` shows what an input holds.

Exit codes (``ExitCode``, docs/usage.md): 0 a key found; 1 inputs read, no key in them;
2 usage error, or no input could be read; 3 no key found and some input is locked (no
password or a wrong one given), so keys may be behind it.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import ExitStack
from datetime import datetime, timezone
from enum import IntEnum
from pathlib import Path
from types import MethodType
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

from scanner import __version__
from scanner.artifacts import Artifact
from scanner.cli_passwords import PASSWORD_ENV, PasswordFileError, Prompt, can_prompt, gather
from scanner.cli_stdin import STDIN_ARGUMENT, StdinUnusable, spooled_stdin
from scanner.cli_streams import ReaderGone, StdoutConsole, stdout_reader, utf8_streams
from scanner.context import ScanOptions
from scanner.errors import NeedsPassword, WrongPassword
from scanner.model import ScanResult
from scanner.pipeline import scan
from scanner.reports import print_report, write_json
from scanner.reports.clipboard import copy_first_key
from scanner.reports.common import iso, literal
from scanner.reports.examiner import ExaminerReport, ReportRefused, default_argv
from scanner.reports.progress import ScanProgress
from scanner.reports.qr import print_qr_codes

__all__ = ["PASSWORD_ENV", "ExitCode", "app", "main"]


class ExitCode(IntEnum):
    FOUND = 0  # at least one key found
    NO_KEY = 1  # the inputs were read and hold no key
    USAGE = 2  # usage error, or no input could be read at all
    LOCKED = 3  # no key found, and some input needs a password (none given, or wrong)


LOCKED_KINDS = {NeedsPassword.kind, WrongPassword.kind}


class _MetavarHelp:
    """Help shows each option's metavar, never a Python type: typer >= 0.20 prints the
    annotation (``<list[Path]>``, ``<bool>``) beside every parameter."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if hasattr(param, "display_type_rich"):
                param.display_type_rich = MethodType(_metavar_only, param)
        return params


class _Command(_MetavarHelp, TyperCommand):
    pass


class _Group(_MetavarHelp, TyperGroup):
    pass


def _metavar_only(param: Any, ctx: Any) -> str | None:
    return None if param.param_type_name == "argument" else param.metavar


app = typer.Typer(
    name="keyscan",
    cls=_Group,
    help=(
        "Find the pairing key of Huami / Amazfit / Zepp / Xiaomi wearables in phone backups, "
        "app-data folders, logs and exports, offline. The key goes into Gadgetbridge."
    ),
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,  # a local may hold a password
)

PathsArg = Annotated[
    list[Path],
    typer.Argument(
        help="Files or folders: .ab, MIUI .bak, TWRP folder, zip, tar, image, app-data folder, "
        "log bundle, Gadgetbridge export, saved server answer; - reads one from standard input.",
        metavar="PATH",
        show_default=False,
    ),
]
PasswordOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--password",
        "-p",
        help="A password to try (repeatable, tried in order). Visible to other users of this "
        f"machine: prefer --password-file, {PASSWORD_ENV} or the prompt.",
        metavar="PW",
        show_default=False,
    ),
]
PasswordFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        help="A file with one password per line.",
        metavar="FILE",
        show_default=False,
    ),
]
NoInputOpt = Annotated[
    bool, typer.Option("--no-input", help="Never prompt for a password (for scripts).")
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Log tracebacks of problems to stderr.")]
FollowLinksOpt = Annotated[
    bool,
    typer.Option(
        "--follow-links",
        help="Follow symbolic links in folders whose target stays inside the folder given "
        "(never out of it; by default links are listed, not followed).",
    ),
]


def _version(value: bool) -> None:
    if value:
        print(f"keyscan {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Find wearable pairing keys, offline."""


def _consoles() -> tuple[Console, Console]:
    """(stdout, stderr); emoji codes off everywhere (``:cd:`` in a MAC is no CD)."""
    return (
        StdoutConsole(emoji=False, highlight=False),
        Console(stderr=True, emoji=False, highlight=False),
    )


def _usage_error(err: Console, message: str) -> typer.Exit:
    err.print(Text.assemble(("error: ", "red"), message))
    return typer.Exit(ExitCode.USAGE)


def _options(
    passwords: list[str] | None,
    password_file: Path | None,
    no_input: bool,
    debug: bool,
    err: Console,
    progress: ScanProgress,
    verify: bool = False,
    follow_links: bool = False,
) -> ScanOptions:
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    if passwords:
        err.print(
            Text.assemble(
                ("warning: ", "yellow"),
                "--password is visible to other users of this machine (process list, shell "
                f"history); prefer --password-file, {PASSWORD_ENV} or the prompt.",
            )
        )
    try:
        given = gather(list(passwords or []), password_file)
    except PasswordFileError as error:
        raise _usage_error(err, f"cannot read --password-file: {error}") from error
    return ScanOptions.from_environment(  # the KEYSCAN_* tuning variables, read here only
        passwords=list(given),
        verify=verify,
        follow_links=follow_links,
        debug=debug,
        ask_password=None if no_input or not can_prompt() else Prompt(err, progress.paused),
        quick_switching=True,  # process-wide: the CLI owns its process
    )


def _inputs(paths: list[Path], stack: ExitStack, err: Console) -> list[Path]:
    """The paths, with ``-`` replaced by standard input spooled to a private file."""
    if sum(str(p) == STDIN_ARGUMENT for p in paths) > 1:
        raise _usage_error(err, "- (standard input) can be given once only")
    try:
        return [
            stack.enter_context(spooled_stdin()) if str(p) == STDIN_ARGUMENT else p for p in paths
        ]
    except StdinUnusable as error:
        raise _usage_error(err, f"-: {error}") from error


def _locked(result: ScanResult) -> bool:
    return any(problem.kind in LOCKED_KINDS for problem in result.problems)


def _exit_code(result: ScanResult) -> ExitCode:
    if result.devices:
        return ExitCode.FOUND
    if _locked(result):
        return ExitCode.LOCKED
    if result.inputs_read == 0:
        return ExitCode.USAGE
    return ExitCode.NO_KEY


SCAN_EPILOG = (
    "Examples:\n\n"
    "  keyscan scan backup.ab\n\n"
    "  KEYSCAN_PASSWORD=secret keyscan scan backup.ab --no-input --json\n\n"
    "  adb backup -f - com.xiaomi.hm.health | keyscan scan -\n\n"
    "  keyscan scan exports/ --all\n\n"
    "Exit codes: 0 a key was found; 1 none was found in what was read; 2 usage error or "
    "nothing readable; 3 no key found and some input needs a password (none or a wrong one "
    "given). Enter the key in Gadgetbridge with its 0x prefix (docs/gadgetbridge.md)."
)


@app.command("scan", epilog=SCAN_EPILOG, cls=_Command)
def scan_command(
    paths: PathsArg,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the JSON contract (docs/json.md) on stdout only.")
    ] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list every candidate, not just each device's key.")
    ] = False,
    password: PasswordOpt = None,
    password_file: PasswordFileOpt = None,
    no_input: NoInputOpt = False,
    verify: Annotated[
        bool, typer.Option("--verify", help="Check TWRP .sha2/.md5 digests (reads files twice).")
    ] = False,
    redact: Annotated[
        bool, typer.Option("--redact", help="Mask keys (all but the last 4 hex) to share a report.")
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            metavar="N",
            help="Use this many worker processes: top-level inputs scanned at once, or one "
            "input's small text files (default: the number of cores; 1: none). The output "
            "is the same for any value.",
            show_default=False,
        ),
    ] = None,
    follow_links: FollowLinksOpt = False,
    qr: Annotated[
        bool,
        typer.Option(
            "--qr",
            help="Also draw each device's key as a QR code for the phone's camera: it holds "
            "exactly the text to paste (0x and 32 hex). Into a pipe or file it is printed "
            "without colours (light modules as blocks, for a dark background).",
        ),
    ] = False,
    copy: Annotated[
        bool,
        typer.Option(
            "--copy",
            help="Put the key on the clipboard, through the terminal (OSC 52; terminals without "
            "it ignore it). With several devices, the first listed (the newest key); it says "
            "which. Only when stderr or stdout is a terminal.",
        ),
    ] = False,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report",
            metavar="DIR",
            help="Also write the examiner's report into DIR, outside the evidence: keys.json, "
            "candidates.csv, timeline.csv, report.html, case.json with every file's SHA-256 "
            "and MD5 (docs/report.md).",
            show_default=False,
        ),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Scan PATHS and print the newest key of every device found."""
    out, err = _consoles()
    if redact and (qr or copy):
        raise _usage_error(err, "--redact hides the keys that --qr and --copy hand over")
    if qr and json_output:
        raise _usage_error(err, "--qr draws on the terminal: not with --json")
    workers = jobs or os.cpu_count() or 1
    progress = ScanProgress(err, parallel=workers > 1 and len(paths) > 1, inputs=len(paths))
    report = _examiner_report(report_dir, paths, redact, err)
    options = _options(
        password, password_file, no_input, debug, err, progress, verify, follow_links
    )
    with ExitStack() as stack:
        inputs = _inputs(paths, stack, err)
        with progress:
            result = scan(
                inputs,
                options,
                on_artifact=progress.update,
                jobs=workers,
                on_input=progress.input_done,
                on_open=report.on_open(progress.on_open) if report else progress.on_open,
                on_sighting=report.on_sighting if report else None,
            )
        if report:  # before the spooled standard input goes: its digest may need it
            report.finish(result, _exit_code(result), default_argv())
    with stdout_reader():
        if json_output:
            write_json(result, sys.stdout, redacted=redact)
            sys.stdout.write("\n")
        else:
            print_report(result, out, show_all=show_all, redacted=redact)
            if qr:
                print_qr_codes(result, out)
    if copy:  # the terminal on stderr first: stdout may be a document (--json)
        copy_first_key(result, err, [sys.stderr] if json_output else [sys.stderr, sys.stdout])
    raise typer.Exit(_exit_code(result))


def _examiner_report(
    folder: Path | None, paths: list[Path], redact: bool, err: Console
) -> ExaminerReport | None:
    if folder is None:
        return None
    try:
        return ExaminerReport(folder, paths, redacted=redact)
    except (ReportRefused, OSError) as error:
        raise _usage_error(err, f"--report: {error}") from error


@app.command("ls", cls=_Command)
def ls_command(
    paths: PathsArg,
    password: PasswordOpt = None,
    password_file: PasswordFileOpt = None,
    no_input: NoInputOpt = False,
    follow_links: FollowLinksOpt = False,
    debug: DebugOpt = False,
) -> None:
    """List what PATHS hold: containers opened, nested members with sizes, times and kinds.

    Exit codes: 0 listed; 2 usage error or nothing readable; 3 some input needs a password.
    """
    out, err = _consoles()
    progress = ScanProgress(err)  # never started: ls prints as it goes
    options = _options(password, password_file, no_input, debug, err, progress, False, follow_links)

    def show(artifact: Artifact, kind: str) -> None:
        when = (
            iso(datetime.fromtimestamp(artifact.mtime, tz=timezone.utc)) if artifact.mtime else "-"
        )
        size = f"{artifact.size:,}" if artifact.size is not None else "?"
        line = Text("  " * artifact.depth)
        line.append_text(literal(artifact.chain[-1]))
        line.append_text(literal(f"  {size} B  {when}  [{kind}]", style="dim"))  # a link's target
        if artifact.device_path:
            line.append_text(literal(f"  -> {artifact.device_path}", style="dim"))
        try:
            out.print(line, soft_wrap=True)
        except BrokenPipeError as error:
            raise ReaderGone from error  # through the scan, which then stops

    with ExitStack() as stack, stdout_reader() as reader:
        result = scan(_inputs(paths, stack, err), options, on_artifact=show, extract=False)
    if reader.gone:
        raise typer.Exit(ExitCode.FOUND)  # listed, as far as it was read
    for problem in result.problems:
        err.print(
            Text.assemble(
                (problem.kind, "yellow"),
                ": ",
                literal(" > ".join(problem.provenance)),
                ": ",
                literal(problem.message),
            ),
            soft_wrap=True,
        )
    if result.inputs_read == 0:
        raise typer.Exit(ExitCode.USAGE)
    raise typer.Exit(ExitCode.LOCKED if _locked(result) else ExitCode.FOUND)


def main() -> None:
    utf8_streams()
    app()
