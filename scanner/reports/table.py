"""The human report: the keys first, then each device's details, problems, and a summary.

Every string from the evidence goes through ``literal`` (no markup, no emoji, controls
escaped). A key is never wrapped or cut: when a line cannot hold it beside its label, it
goes on a line of its own.
"""

from __future__ import annotations

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from scanner.model import Candidate, DeviceInfo, DeviceKey, ScanResult
from scanner.reports.common import gadgetbridge_form, iso, literal

HINT = (
    "In Gadgetbridge: add the device, then enter the key in its Auth Key field exactly as shown "
    "(with the 0x prefix; without it Gadgetbridge reads the text as raw bytes).\n"
    "Do not unpair the band in the vendor app, and do not hard-reset it: either makes a new key."
)
KEY_STYLE = "bold green"
LABEL_WIDTH = 12  # "Name / model"
INDENT = "  "
# Devices whose details are shown; past that only their key line (a hostile log can make
# 100,000 devices, and each block of details costs milliseconds to lay out).
DETAILED = 50


def _where(provenance: tuple[str, ...]) -> Text:
    return literal(" > ".join(provenance))


def device_label(device: DeviceInfo) -> Text:
    """MAC, then name / model: what tells the user which band the key belongs to."""
    parts = [p for p in (device.mac, device.name, device.model) if p]
    return literal("  ".join(parts) if parts else "unknown device (no MAC seen)")


def key_line(console: Console, key: str, after: Text) -> None:
    """The key, then ``after`` on the same line if it fits, else on the next, indented."""
    line = Text(key, style=KEY_STYLE)
    if len(key) + 2 + after.cell_len <= console.width:
        console.print(Text.assemble(line, "  ", after), soft_wrap=True)
        return
    console.print(line, soft_wrap=True)  # the terminal may wrap it, nothing cuts it
    console.print(Text.assemble(INDENT * 2, after))


def _key_lines(console: Console, lines: list[tuple[str, Text]]) -> None:
    """Many ``key_line``s; those that fit are printed a batch at a time (one print per
    line costs a fraction of a millisecond: seconds for thousands of devices)."""
    batch: list[Text] = []

    def flush() -> None:
        if batch:
            console.print(Text("\n").join(batch), soft_wrap=True)
            batch.clear()

    for key, after in lines:
        if len(key) + 2 + after.cell_len > console.width:
            flush()
            key_line(console, key, after)
            continue
        batch.append(Text.assemble(Text(key, style=KEY_STYLE), "  ", after))
        if len(batch) >= 500:  # not so many at once that rendering them holds MiBs
            flush()
    flush()


def _rows(console: Console, rows: list[tuple[str, Text]], whole: str = "") -> None:
    """Label / value rows; values fold, except the row labelled ``whole`` (a key)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style="dim", width=LABEL_WIDTH)
    grid.add_column(overflow="fold")

    def flush() -> None:
        nonlocal grid
        if grid.row_count:
            console.print(Padding(grid, (0, 0, 0, len(INDENT))))
            grid = Table.grid(padding=(0, 2))
            grid.add_column(no_wrap=True, style="dim", width=LABEL_WIDTH)
            grid.add_column(overflow="fold")

    for label, value in rows:
        if label == whole and len(INDENT) + LABEL_WIDTH + 2 + value.cell_len > console.width:
            flush()
            console.print(Text(INDENT + label, style="dim"))
            console.print(Text.assemble(INDENT * 2, value), soft_wrap=True)
            continue
        grid.add_row(label, value)
    flush()


def _details(console: Console, number: int, total: int, device: DeviceKey, redacted: bool) -> None:
    chosen = device.chosen
    title = Text(f"Device {number} of {total}: ", style="bold")
    title.append_text(literal(device.device.mac or "unknown device (no MAC seen)", style="bold"))
    console.print(title)
    name = " / ".join(p for p in (device.device.name, device.device.model) if p) or "-"
    others = len({c.key for c in device.alternatives})
    when = f"{iso(chosen.timestamp) or 'unknown'} ({chosen.timestamp_source})"
    why = device.reason + (f"; {others} other key(s) seen" if others else "")
    rows = [
        ("Name / model", literal(name)),
        ("Key", Text(gadgetbridge_form(chosen.key, redacted), style=KEY_STYLE)),
        ("When", literal(when)),
        ("From", _where(chosen.provenance)),
        ("Why", literal(why)),
    ]
    if chosen.note:
        rows.append(("Note", literal(chosen.note)))
    _rows(console, rows, whole="Key")


def _candidate(console: Console, candidate: Candidate, redacted: bool) -> None:
    """One candidate as a block: key, field and MAC; then when, how, and where from."""
    head = literal(f"{candidate.field}  {candidate.device.mac or '-'}")
    key_line(console, gadgetbridge_form(candidate.key, redacted), head)
    how = candidate.method + (" (deleted)" if candidate.deleted else "")
    if candidate.sightings > 1:
        how += f", seen {candidate.sightings:,} times in this file (the newest shown)"
    when = f"{iso(candidate.timestamp) or 'no time'} ({candidate.timestamp_source})"
    rows = [
        ("When", literal(when)),
        ("How", literal(f"{how}, confidence {candidate.confidence}")),
        ("From", _where(candidate.provenance)),
    ]
    if candidate.note:
        rows.append(("Note", literal(candidate.note)))
    _rows(console, rows)


def _cut_short(console: Console, result: ScanResult, redacted: bool) -> None:
    """Keys seen only cut short: never chosen, but the user must learn they exist."""
    for candidate in result.candidates:
        if candidate.incomplete:
            console.print()
            console.print(Text("A key was seen cut short (not usable as it is):", style="bold"))
            _candidate(console, candidate, redacted)


def _problems(console: Console, result: ScanResult) -> None:
    problems = Table(title=f"Problems ({len(result.problems)})", title_justify="left")
    problems.add_column("Kind", no_wrap=True, style="yellow")
    problems.add_column("Where", overflow="fold", ratio=1)
    problems.add_column("What", overflow="fold", ratio=1)
    for p in result.problems:
        problems.add_row(literal(p.kind), _where(p.provenance), literal(p.message))
    console.print(problems)


def print_report(
    result: ScanResult, console: Console, show_all: bool = False, redacted: bool = False
) -> None:
    if result.devices:
        _key_lines(
            console,
            [
                (gadgetbridge_form(d.chosen.key, redacted), device_label(d.device))
                for d in result.devices
            ],
        )
        total = len(result.devices)
        for number, device in enumerate(result.devices[:DETAILED], 1):
            console.print()
            _details(console, number, total, device, redacted)
        if total > DETAILED:
            console.print()
            console.print(
                f"Details of the other {total - DETAILED:,} devices: --json.",
                markup=False,
            )
        console.print()
        console.print(HINT)
    else:
        console.print(
            "[bold]No wearable key found.[/bold] Try `keyscan ls PATH` to see what was read."
        )
    if show_all and result.candidates:
        console.print()
        console.print(Text(f"Every candidate ({len(result.candidates)})", style="bold"))
        for candidate in result.candidates:
            _candidate(console, candidate, redacted)
    else:
        _cut_short(console, result, redacted)
    if result.problems:
        console.print()
        _problems(console, result)
    console.print(
        f"\n[dim]{result.files_seen} file(s) read, {len(result.candidates)} candidate(s), "
        f"{len(result.devices)} device(s), {len(result.problems)} problem(s).[/dim]"
    )
