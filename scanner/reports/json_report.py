"""The JSON contract (docs/json.md). Stable: fields are only ever added, never changed."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from typing import TextIO

from scanner.model import Candidate, DeviceInfo, DeviceKey, Problem, ScanResult, Sighting
from scanner.reports.common import gadgetbridge_form, iso, shown_key

SCHEMA = 1


def _device(device: DeviceInfo) -> dict[str, str | None]:
    return {"mac": device.mac, "name": device.name, "model": device.model}


def _candidate(candidate: Candidate, redacted: bool) -> dict[str, object]:
    own = (candidate.timestamp, candidate.timestamp_source, candidate.provenance)
    entry: dict[str, object] = {
        "key": shown_key(candidate.key, redacted),
        "field": candidate.field,
        "app": candidate.app,
        "device": _device(candidate.device),
        "timestamp": iso(candidate.timestamp),
        "timestamp_source": candidate.timestamp_source,
        "provenance": list(candidate.provenance),
        "method": candidate.method,
        "deleted": candidate.deleted,
        "confidence": candidate.confidence,
    }
    # Present only when set, so the ordinary candidate's entry stays as it was.
    if candidate.note:
        entry["note"] = candidate.note
    if candidate.incomplete:
        entry["incomplete"] = True
    entry["sightings"] = candidate.sightings
    entry["seen"] = [
        {
            "timestamp": iso(seen.timestamp),
            "timestamp_source": seen.timestamp_source,
            "provenance": list(seen.provenance),
        }
        for seen in candidate.seen or (Sighting(*own),)
    ]
    return entry


def _device_key(d: DeviceKey, redacted: bool) -> dict[str, object]:
    return {
        **_device(d.device),
        "key": shown_key(d.chosen.key, redacted),
        "gadgetbridge": gadgetbridge_form(d.chosen.key, redacted),
        "timestamp": iso(d.chosen.timestamp),
        "timestamp_source": d.chosen.timestamp_source,
        "provenance": list(d.chosen.provenance),
        "alternatives": len({c.key for c in d.alternatives}),
        "reason": d.reason,
        **({"note": d.chosen.note} if d.chosen.note else {}),
    }


def _problem(p: Problem) -> dict[str, object]:
    return {"kind": p.kind, "provenance": list(p.provenance), "message": p.message}


def _sections(result: ScanResult, redacted: bool) -> dict[str, Iterable[dict[str, object]]]:
    return {
        "candidates": (_candidate(c, redacted) for c in result.candidates),
        "devices": (_device_key(d, redacted) for d in result.devices),
        "problems": (_problem(p) for p in result.problems),
    }


def to_dict(result: ScanResult, redacted: bool = False) -> dict[str, object]:
    return {
        "schema": SCHEMA,
        **{name: list(items) for name, items in _sections(result, redacted).items()},
    }


# A lone surrogate is a byte that was not UTF-8 in a name (PEP 383: 0xff is U+DCFF); raw, it
# cannot be written as UTF-8, so it is written as its JSON escape (docs/json.md).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _dumps(value: object, depth: int) -> str:
    """``value`` as ``json.dumps(..., indent=2)`` prints it ``depth`` levels down (a JSON
    string never holds a raw line break, so indenting every line is safe)."""
    text = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + "  " * depth)
    return _LONE_SURROGATE.sub(_escape_surrogate, text)


def write_json(result: ScanResult, out: TextIO, redacted: bool = False) -> None:
    """The document, written one entry at a time: the same text as ``json.dumps`` of
    ``to_dict`` with ``indent=2``, without ever holding it whole (100,000 candidates
    would take hundreds of MiB as one string)."""
    out.write(f'{{\n  "schema": {SCHEMA}')
    for name, items in _sections(result, redacted).items():
        out.write(f',\n  "{name}": [')
        empty = True
        for item in items:
            out.write(("\n    " if empty else ",\n    ") + _dumps(item, 2))
            empty = False
        out.write("]" if empty else "\n  ]")
    out.write("\n}")


def to_json(result: ScanResult, redacted: bool = False) -> str:
    text = io.StringIO()
    write_json(result, text, redacted)
    return text.getvalue()
