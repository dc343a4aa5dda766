"""A zip member's modification time, and whether its zone is known.

The DOS date and time in every header are the writer's local time, zone unknown. Many
writers add a UTC time in an extra field: Info-ZIP and most Unix tools the extended
timestamp ("UT"), 7-Zip and Windows tools the NTFS field. A zip made in UTC+8 has DOS
times 8 hours ahead of UTC, so the extra field wins whenever it is there.
"""

from __future__ import annotations

import zipfile
from datetime import datetime, timezone

from construct import ConstructError

from scanner.formats.zip import layout

LOCAL_TIME = "zip member time (local, zone unknown)"
UT_TIME = "zip member time (UTC, extended timestamp)"
NTFS_TIME = "zip member time (UTC, NTFS times)"


def member_time(info: zipfile.ZipInfo) -> tuple[float | None, str, bool]:
    """(seconds since the epoch, where they come from, whether they are UTC). A time of
    unknown zone is given as if it were UTC, to be shown without a zone."""
    for moment, source in _extra_times(info.extra):
        if _representable(moment):
            return moment, source, True
    try:
        local = datetime(*info.date_time, tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None, LOCAL_TIME, False
    return local, LOCAL_TIME, False


def _extra_times(extra: bytes) -> list[tuple[float, str]]:
    """The UTC modification times in a central directory's extra fields, NTFS first
    (finer: 100 ns)."""
    try:
        fields = layout.ExtraFields.parse(extra)
    except ConstructError:
        return []
    found: list[tuple[float, str]] = []
    for field in fields:
        try:
            if field.id == layout.NTFS:
                for attribute in layout.NtfsExtra.parse(field.data).attributes:
                    if attribute.tag == layout.NTFS_TIMES_TAG:
                        times = layout.NtfsTimes.parse(attribute.data)
                        ticks = times.mtime - layout.FILETIME_UNIX_EPOCH
                        found.insert(0, (ticks / 10_000_000, NTFS_TIME))
            elif field.id == layout.EXTENDED_TIMESTAMP:
                stamp = layout.ExtendedTimestamp.parse(field.data)
                if stamp.mtime is not None:
                    found.append((float(stamp.mtime), UT_TIME))
        except ConstructError:
            continue  # a damaged field: the next one, or the DOS time
    return found


def _representable(moment: float) -> bool:
    try:
        datetime.fromtimestamp(moment, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return False
    return moment != 0  # an unset NTFS time (FILETIME 0 is 1601) or UT 0
