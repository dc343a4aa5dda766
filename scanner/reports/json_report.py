"""The JSON contract (docs/json.md). Stable: fields are only ever added, never changed."""

from __future__ import annotations

import json

from scanner.model import Candidate, DeviceInfo, ScanResult
from scanner.reports.common import gadgetbridge_form, iso, shown_key

SCHEMA = 1


def _device(device: DeviceInfo) -> dict[str, str | None]:
    return {"mac": device.mac, "name": device.name, "model": device.model}


def _candidate(candidate: Candidate, redacted: bool) -> dict[str, object]:
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
    return entry


def to_dict(result: ScanResult, redacted: bool = False) -> dict[str, object]:
    return {
        "schema": SCHEMA,
        "candidates": [_candidate(c, redacted) for c in result.candidates],
        "devices": [
            {
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
            for d in result.devices
        ],
        "problems": [
            {"kind": p.kind, "provenance": list(p.provenance), "message": p.message}
            for p in result.problems
        ],
    }


def to_json(result: ScanResult, redacted: bool = False) -> str:
    return json.dumps(to_dict(result, redacted), indent=2, ensure_ascii=False)
