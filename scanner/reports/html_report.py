"""``report.html``: one self-contained page (inline CSS and SVG, no script, nothing fetched).

Per device: the chosen key whole, why it was chosen, its QR code (segno, inline SVG), and a
timeline of every key seen for the device, so that "the newest" can be seen. The page's
Content-Security-Policy forbids any load (``default-src 'none'``); every text from the
evidence goes through ``html.escape``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from typing import TextIO

import segno

from scanner import __version__
from scanner.model import Candidate, DeviceKey, ScanResult
from scanner.ranking.choose import comparable
from scanner.reports.common import gadgetbridge_form, iso, visible

MAX_DEVICES = 200  # the rest are in keys.json and candidates.csv
MAX_ROWS = 1000
WIDTH, LANE, LABEL = 760, 26, 300

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
code{font:13px ui-monospace,monospace;background:#f3f3f3;padding:1px 4px;word-break:break-all}
section{border:1px solid #ccc;border-radius:6px;padding:1em;margin:1em 0}
.qr{float:right;margin-left:1em}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px}
.chosen{font-weight:bold}svg text{font:11px ui-monospace,monospace}
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@dataclass
class KeySpan:
    """Every sighting of one key, summed up for the timeline picture (bounded per key)."""

    count: int = 0
    untimed: int = 0
    earliest: datetime | None = None
    newest: datetime | None = None

    def add(self, moment: datetime | None) -> None:
        self.count += 1
        if moment is None:
            self.untimed += 1
            return
        moment = comparable(moment)
        if self.earliest is None or moment < self.earliest:
            self.earliest = moment
        if self.newest is None or moment > self.newest:
            self.newest = moment


def text(value: object) -> str:
    """Evidence text for HTML: controls made visible, then escaped."""
    return escape(visible("" if value is None else str(value)))


def _seconds(moment: datetime) -> float:
    return comparable(moment).replace(tzinfo=timezone.utc).timestamp()


def _moments(candidates: Iterable[Candidate]) -> dict[str, list[datetime]]:
    """Per key, the sighting times the findings kept (best, first and newest of each)."""
    times: dict[str, list[datetime]] = {}
    for c in candidates:
        kept = times.setdefault(c.key, [])
        kept.extend(s.timestamp for s in (c.seen or ()) if s.timestamp is not None)
        if c.timestamp is not None:
            kept.append(c.timestamp)
    return times


def timeline_svg(device: DeviceKey, spans: Mapping[str, KeySpan], redacted: bool) -> str:
    """One lane per key of the device: its span of sightings, the kept ones as dots."""
    keys = list(dict.fromkeys([device.chosen.key, *(c.key for c in device.alternatives)]))
    moments = _moments([device.chosen, *device.alternatives])
    known = [_seconds(m) for ms in moments.values() for m in ms]
    for key in keys:
        span = spans.get(key)
        if span is not None and span.earliest is not None and span.newest is not None:
            known += [_seconds(span.earliest), _seconds(span.newest)]
    low, high = (min(known), max(known)) if known else (0.0, 1.0)
    scale = (WIDTH - LABEL - 20) / ((high - low) or 1.0)

    def x(moment: datetime) -> float:
        return LABEL + 10 + (_seconds(moment) - low) * scale

    height = LANE * (len(keys) + 1) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="key sightings over time">'
    ]
    for lane, key in enumerate(keys):
        y = LANE * lane + 18
        span = spans.get(key)
        shown = text(gadgetbridge_form(key, redacted))
        weight = ' font-weight="bold"' if key == device.chosen.key else ""
        count = f"{span.count} sighting(s), {span.untimed} without time" if span else ""
        parts.append(f'<text x="0" y="{y + 4}"{weight}>{shown}<title>{count}</title></text>')
        if span is not None and span.earliest is not None and span.newest is not None:
            parts.append(
                f'<line x1="{x(span.earliest):.1f}" y1="{y}" x2="{x(span.newest):.1f}" '
                f'y2="{y}" stroke="#9ab" stroke-width="6" stroke-linecap="round"/>'
            )
        newest = max(moments.get(key, []), key=_seconds, default=None)
        for moment in moments.get(key, []):
            colour = "#c00" if moment == newest else "#236"
            parts.append(
                f'<circle cx="{x(moment):.1f}" cy="{y}" r="4" fill="{colour}">'
                f"<title>{text(iso(moment))}</title></circle>"
            )
    axis = LANE * len(keys) + 18
    if known:
        first = datetime.fromtimestamp(low, tz=timezone.utc)
        last = datetime.fromtimestamp(high, tz=timezone.utc)
        parts.append(f'<text x="{LABEL + 10}" y="{axis}">{text(iso(first))}</text>')
        parts.append(
            f'<text x="{WIDTH - 10}" y="{axis}" text-anchor="end">{text(iso(last))}</text>'
        )
    else:
        parts.append(f'<text x="{LABEL + 10}" y="{axis}">no sighting has a time</text>')
    parts.append("</svg>")
    return "".join(parts)


def qr_svg(key: str) -> str:
    """The key as Gadgetbridge wants it, as an inline SVG QR code."""
    return str(segno.make(gadgetbridge_form(key), error="m").svg_inline(scale=3))


def _device(d: DeviceKey, spans: Mapping[str, KeySpan], redacted: bool) -> str:
    title = " / ".join(text(v) for v in (d.device.name, d.device.model, d.device.mac) if v)
    chosen = d.chosen
    qr = "" if redacted else f'<div class="qr">{qr_svg(chosen.key)}</div>'
    return (
        f"<section>{qr}<h2>{title or 'device without a known name or address'}</h2>"
        f'<p>Key: <code class="key">{text(gadgetbridge_form(chosen.key, redacted))}</code></p>'
        f"<p>Why: {text(d.reason)}</p>"
        f"<p>Time: {text(iso(chosen.timestamp) or 'unknown')} ({text(chosen.timestamp_source)})"
        f"<br>Found in: <code>{text(' > '.join(chosen.provenance))}</code></p>"
        f'<h3>Sightings of its keys over time</h3><div style="clear:both">'
        f"{timeline_svg(d, spans, redacted)}</div></section>"
    )


def _candidate_rows(candidates: list[Candidate], chosen: set[int], redacted: bool) -> str:
    rows = []
    for c in candidates[:MAX_ROWS]:
        cls = ' class="chosen"' if id(c) in chosen else ""
        cells = (
            gadgetbridge_form(c.key, redacted),
            c.device.mac,
            iso(c.timestamp),
            c.timestamp_source,
            " > ".join(c.provenance),
            c.field,
            c.method,
            c.confidence,
            c.sightings,
        )
        rows.append(f"<tr{cls}>" + "".join(f"<td>{text(v)}</td>" for v in cells) + "</tr>")
    more = len(candidates) - MAX_ROWS
    if more > 0:
        rows.append(f'<tr><td colspan="9">{more} more in candidates.csv</td></tr>')
    return "".join(rows)


def write_html(
    result: ScanResult, spans: Mapping[str, KeySpan], out: TextIO, redacted: bool = False
) -> None:
    out.write(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>keyscan report</title><style>{CSS}</style></head><body>"
        f"<h1>keyscan {text(__version__)}: examiner's report</h1>"
        f"<p>{len(result.devices)} device(s), {len(result.candidates)} finding(s), "
        f"{len(result.problems)} problem(s). Details: keys.json, candidates.csv, "
        "timeline.csv, case.json.</p>"
    )
    for d in result.devices[:MAX_DEVICES]:
        out.write(_device(d, spans, redacted))
    if len(result.devices) > MAX_DEVICES:
        out.write(f"<p>{len(result.devices) - MAX_DEVICES} more devices in keys.json.</p>")
    chosen = {id(d.chosen) for d in result.devices}
    out.write(
        "<h2>Findings</h2><table><tr><th>key</th><th>MAC</th><th>time</th><th>time source</th>"
        "<th>provenance</th><th>field</th><th>method</th><th>confidence</th><th>sightings</th>"
        f"</tr>{_candidate_rows(result.candidates, chosen, redacted)}</table>"
    )
    if result.problems:
        out.write("<h2>Problems</h2><ul>")
        for p in result.problems[:MAX_ROWS]:
            where = " > ".join(p.provenance)
            out.write(f"<li>{text(p.kind)}: <code>{text(where)}</code>: {text(p.message)}</li>")
        out.write("</ul>")
    out.write("</body></html>\n")
