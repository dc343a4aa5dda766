"""The ``keyscan`` command: ``scan`` finds keys, ``ls`` shows what an input holds.

Exit codes (docs/usage.md): 0 at least one key found; 1 none found; 2 usage error, or
no input could be read at all.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from scanner import __version__
from scanner.artifacts import Artifact
from scanner.context import ScanOptions
from scanner.model import ScanResult
from scanner.pipeline import scan
from scanner.reports import print_report, to_json
from scanner.reports.common import iso
from scanner.reports.progress import ScanProgress

EXIT_FOUND, EXIT_NONE, EXIT_USAGE = 0, 1, 2
PASSWORD_ENV = "KEYSCAN_PASSWORD"

app = typer.Typer(
    name="keyscan",
    help=(
        "Find the pairing key of Huami / Amazfit / Zepp / Xiaomi wearables in phone backups, "
        "app-data folders, logs and exports, offline. The key goes into Gadgetbridge."
    ),
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

PathsArg = Annotated[
    list[Path],
    typer.Argument(
        help="Files or folders: .ab, MIUI .bak, TWRP folder, zip, tar, image, app-data folder, "
        "log bundle, Gadgetbridge export, saved server answer.",
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
        show_default=False,
    ),
]
PasswordFileOpt = Annotated[
    Path | None,
    typer.Option("--password-file", help="A file with one password per line.", show_default=False),
]
NoInputOpt = Annotated[
    bool, typer.Option("--no-input", help="Never prompt for a password (for scripts).")
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Log tracebacks of problems to stderr.")]


def _version(value: bool) -> None:
    if value:
        print(f"keyscan {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Find wearable pairing keys, offline."""


def _passwords(passwords: list[str] | None, password_file: Path | None, err: Console) -> list[str]:
    found = list(passwords or [])
    if found:
        err.print(
            "[yellow]warning:[/yellow] --password is visible to other users of this machine "
            f"(process list, shell history); prefer --password-file, {PASSWORD_ENV} or the prompt."
        )
    if password_file is not None:
        try:
            text = password_file.read_text(encoding="utf-8")
        except OSError as error:
            err.print(f"[red]error:[/red] cannot read --password-file: {error.strerror}")
            raise typer.Exit(EXIT_USAGE) from error
        found += [line.rstrip("\r") for line in text.split("\n") if line.rstrip("\r")]
    if os.environ.get(PASSWORD_ENV):
        found.append(os.environ[PASSWORD_ENV])
    return found


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _prompt(err: Console, no_input: bool):
    if no_input or not _stdin_is_terminal():
        return None

    def ask(provenance: tuple[str, ...]) -> str | None:
        where = " > ".join(provenance)
        try:
            typed = err.input(f"Password for {where} (empty to skip): ", password=True)
        except (EOFError, KeyboardInterrupt):
            return None
        return typed or None

    return ask


def _options(
    passwords: list[str] | None,
    password_file: Path | None,
    no_input: bool,
    debug: bool,
    err: Console,
    verify: bool = False,
) -> ScanOptions:
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    return ScanOptions(
        passwords=_passwords(passwords, password_file, err),
        verify=verify,
        debug=debug,
        ask_password=_prompt(err, no_input),
    )


def _exit_code(result: ScanResult) -> int:
    if result.devices:
        return EXIT_FOUND
    if result.inputs_read == 0:
        return EXIT_USAGE
    return EXIT_NONE


SCAN_EPILOG = (
    "Examples:\n\n"
    "  keyscan scan backup.ab\n\n"
    "  KEYSCAN_PASSWORD=secret keyscan scan backup.ab --no-input --json\n\n"
    "  keyscan scan exports/ --all\n\n"
    "Exit codes: 0 a key was found, 1 none was found, 2 usage error or nothing readable. "
    "Enter the key in Gadgetbridge with its 0x prefix (docs/gadgetbridge.md)."
)


@app.command("scan", epilog=SCAN_EPILOG)
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
            help="Scan this many top-level inputs at once, in worker processes "
            "(default: the number of cores). The output is the same for any value.",
            show_default=False,
        ),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Scan PATHS and print the newest key of every device found."""
    err = Console(stderr=True)
    options = _options(password, password_file, no_input, debug, err, verify)
    workers = jobs or os.cpu_count() or 1
    with ScanProgress(err, parallel=workers > 1 and len(paths) > 1) as progress:
        result = scan(
            paths,
            options,
            on_artifact=progress.update,
            jobs=workers,
            on_input=progress.input_done,
        )
    if json_output:
        sys.stdout.write(to_json(result, redacted=redact) + "\n")
    else:
        print_report(result, Console(), show_all=show_all, redacted=redact)
    raise typer.Exit(_exit_code(result))


@app.command("ls")
def ls_command(
    paths: PathsArg,
    password: PasswordOpt = None,
    password_file: PasswordFileOpt = None,
    no_input: NoInputOpt = False,
    debug: DebugOpt = False,
) -> None:
    """List what PATHS hold: containers opened, nested members with sizes, times and kinds."""
    err = Console(stderr=True)
    out = Console()
    options = _options(password, password_file, no_input, debug, err)

    def show(artifact: Artifact, kind: str) -> None:
        when = (
            iso(datetime.fromtimestamp(artifact.mtime, tz=timezone.utc)) if artifact.mtime else "-"
        )
        size = f"{artifact.size:,}" if artifact.size is not None else "?"
        indent = "  " * artifact.depth
        device = f"  -> {artifact.device_path}" if artifact.device_path else ""
        line = Text(f"{indent}{artifact.chain[-1]}  ")
        line.append(f"{size} B  {when}  [{kind}]{device}", style="dim")
        out.print(line, highlight=False, soft_wrap=True)

    result = scan(paths, options, on_artifact=show, extract=False)
    for problem in result.problems:
        where = " > ".join(problem.provenance)
        err.print(Text.assemble((problem.kind, "yellow"), f": {where}: {problem.message}"))
    raise typer.Exit(EXIT_USAGE if result.inputs_read == 0 else 0)


def main() -> None:
    app()
