"""Times at the start of log lines that are not Mi Fitness lines (those: text_keys.line_time).

- ``2025-11-02 09:14:06.204 | INFO …`` (loguru, huami-token 2025), ``2026-01-15
  20:03:11.406 : …`` (harbour-amazfish's daemon), ``2024-03-01 11:58:43.915  8123 …``
  (logcat ``-v year``): a full local time, then a space.
- logcat ``threadtime`` (``03-01 11:58:43.915 10234  8123  8160 D Tag: …``, the uid column
  optional): no year. An ``adb bugreport`` gives it in its ``== dumpstate: YYYY-MM-DD
  HH:MM:SS`` header, written before the logcat sections; the log holds what came before
  that moment, so a date after it is from the year before (a December line in a report
  taken in January).

All are the phone's or computer's local time, with no zone: naive datetimes.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

ISO_SOURCE = "log line time (local, no zone)"
LOGCAT_SOURCE = "logcat line time, year from the dumpstate header (local, no zone)"

_ISO = re.compile(rb"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3}) ")
_THREADTIME = re.compile(
    rb"(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3}) +(?:[\w.]+ +)?\d+ +\d+ [VDIWEFS] "
)
_DUMPSTATE = re.compile(rb"(?m)^== dumpstate: (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)")
_HEADER_BYTES = 1 << 16  # the header is the report's first lines
# Lines written while dumpstate ran may be a little later than its header time.
_SLACK = timedelta(days=1)


def dumpstate_time(head: bytes) -> datetime | None:
    """The time in an ``adb bugreport``'s ``== dumpstate:`` header near the start of ``head``."""
    match = _DUMPSTATE.search(head, 0, _HEADER_BYTES)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _logcat(match: re.Match[bytes], reference: datetime) -> datetime | None:
    month, day, hour, minute, second, millis = (int(part) for part in match.groups())
    for year in (reference.year, reference.year - 1):
        try:
            moment = datetime(year, month, day, hour, minute, second, millis * 1000)
        except ValueError:  # 02-29 in a year without it: try the year before
            continue
        if moment <= reference + _SLACK:
            return moment
    return None


def own_line_time(line: bytes, reference: datetime | None) -> tuple[datetime, str] | None:
    """(time, source) from the start of ``line``; a logcat line needs the report's
    ``reference`` (its dumpstate time)."""
    if not line[:1].isdigit():
        return None
    if line[2:3] == b"-" and reference is not None:
        threadtime = _THREADTIME.match(line)
        moment = _logcat(threadtime, reference) if threadtime else None
        return (moment, LOGCAT_SOURCE) if moment else None
    if line[4:5] != b"-":
        return None
    iso = _ISO.match(line)
    if not iso:
        return None
    year, month, day, hour, minute, second, millis = (int(part) for part in iso.groups())
    try:
        return datetime(year, month, day, hour, minute, second, millis * 1000), ISO_SOURCE
    except ValueError:
        return None
