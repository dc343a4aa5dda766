"""The human report: one row per device, problems below, and how to enter the key."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from scanner.model import Candidate, DeviceKey, ScanResult
from scanner.reports.common import gadgetbridge_form, iso

HINT = (
    "In Gadgetbridge: add the device, then enter the key in its Auth Key field exactly as shown "
    "(with the 0x prefix; without it Gadgetbridge reads the text as raw bytes).\n"
    "Do not unpair the band in the vendor app, and do not hard-reset it: either makes a new key."
)


def _where(provenance: tuple[str, ...]) -> str:
    return " > ".join(provenance)


def _device_label(candidate: Candidate, name: str | None, model: str | None) -> str:
    parts = [p for p in (name, model) if p]
    return " / ".join(parts) if parts else "-"


def _device_table(number: int, total: int, device: DeviceKey, redacted: bool) -> Table:
    """One device as a two-column table: it reads well at any terminal width."""
    chosen = device.chosen
    title = device.device.mac or "unknown device (no MAC seen)"
    table = Table(
        title=f"Device {number} of {total}: {title}", show_header=False, title_justify="left"
    )
    table.add_column("what", style="dim", no_wrap=True)
    # Folding (never an ellipsis): the key and the path stay whole even when narrow.
    table.add_column("value", overflow="fold")
    name = _device_label(chosen, device.device.name, device.device.model)
    others = len({c.key for c in device.alternatives})
    table.add_row("Name / model", name)
    table.add_row("Key", Text(gadgetbridge_form(chosen.key, redacted), style="bold green"))
    table.add_row("When", f"{iso(chosen.timestamp) or 'unknown'} ({chosen.timestamp_source})")
    table.add_row("From", _where(chosen.provenance))
    table.add_row("Why", device.reason + (f"; {others} other key(s) seen" if others else ""))
    return table


def _candidates_table(result: ScanResult, redacted: bool) -> Table:
    table = Table(title="Every candidate", show_lines=True)
    # Only the key is kept on one line; the rest folds rather than vanish in narrow terminals.
    table.add_column("Key", no_wrap=True, min_width=34)
    table.add_column("Field / MAC", overflow="fold", min_width=12)
    table.add_column("When / how", overflow="fold", min_width=12)
    table.add_column("From", overflow="fold", ratio=1, min_width=12)
    for c in result.candidates:
        how = c.method + (" (deleted)" if c.deleted else "") + f", {c.confidence}"
        table.add_row(
            gadgetbridge_form(c.key, redacted),
            f"{c.field}\n{c.device.mac or '-'}",
            f"{iso(c.timestamp) or '-'}\n{how}",
            _where(c.provenance),
        )
    return table


def print_report(
    result: ScanResult, console: Console, show_all: bool = False, redacted: bool = False
) -> None:
    if result.devices:
        total = len(result.devices)
        for number, device in enumerate(result.devices, 1):
            console.print(_device_table(number, total, device, redacted))
        # Also as plain lines: whole keys survive any terminal width and copy-paste cleanly.
        console.print("[bold]Keys to enter in Gadgetbridge:[/bold]")
        for device in result.devices:
            label = device.device.mac or "unknown device"
            console.print(
                Text(f"{label}  {gadgetbridge_form(device.chosen.key, redacted)}"), soft_wrap=True
            )
        console.print()
        console.print(HINT)
    else:
        console.print(
            "[bold]No wearable key found.[/bold] Try `keyscan ls PATH` to see what was read."
        )
    if show_all and result.candidates:
        console.print()
        console.print(_candidates_table(result, redacted))
    if result.problems:
        console.print()
        problems = Table(title=f"Problems ({len(result.problems)})", show_lines=False)
        problems.add_column("Kind", no_wrap=True, style="yellow")
        problems.add_column("Where", overflow="fold")
        problems.add_column("What", overflow="fold")
        for p in result.problems:
            problems.add_row(p.kind, _where(p.provenance), p.message)
        console.print(problems)
    console.print(
        f"\n[dim]{result.files_seen} file(s) read, {len(result.candidates)} candidate(s), "
        f"{len(result.devices)} device(s), {len(result.problems)} problem(s).[/dim]"
    )
