"""Guards against zip bombs that keep each member under the per-member limits.

David Fifield's "better zip bomb" (WOOT 2019) points many central-directory entries into
one shared deflate stream: each member is small and modestly compressed, but together
they expand a few megabytes to terabytes. Info-ZIP 6.0's fix (CVE-2019-13232) refuses a
zip whose members' byte ranges overlap; so does keyscan, and it also charges every
member of one zip to one budget in proportion to the zip's size.
"""

from __future__ import annotations

import zipfile
from typing import BinaryIO

from construct import ConstructError

from scanner.context import ScanContext
from scanner.errors import LimitExceeded
from scanner.formats.zip.layout import LOCAL_HEADER_SIZE, LocalFileHeader

# The members of a small zip may together expand far past max_ratio (many tiny files);
# the whole zip's ratio counts once this much came out, as for a gzip stream.
ZIP_RATIO_FLOOR = 64 << 20


def overlapping(infos: list[zipfile.ZipInfo], stream: BinaryIO) -> set[int]:
    """Indexes (in ``infos``) of members whose local header and data share bytes with
    another member's. Each member spans its local header (read from ``stream``) and its
    compressed data; a local header that cannot be read counts as its fixed part only."""
    spans: list[tuple[int, int, int]] = []
    for index, info in enumerate(infos):
        if info.header_offset < 0:
            continue
        stream.seek(info.header_offset)
        try:
            local = LocalFileHeader.parse(stream.read(LOCAL_HEADER_SIZE))
            head = LOCAL_HEADER_SIZE + local.name_length + local.extra_length
        except ConstructError:
            head = LOCAL_HEADER_SIZE  # opening it will say what is wrong
        spans.append((info.header_offset, info.header_offset + head + info.compress_size, index))
    spans.sort()
    shared: set[int] = set()
    cluster: list[int] = []
    end = -1
    for start, stop, index in spans:
        if start < end:  # every member of a cluster overlaps at least one other
            cluster.append(index)
        else:
            if len(cluster) > 1:
                shared.update(cluster)
            cluster = [index]
        end = max(end, stop)
    if len(cluster) > 1:
        shared.update(cluster)
    return shared


class ZipBudget:
    """What all members of one zip may expand to: ``max_ratio`` times the zip's size (at
    least ``ZIP_RATIO_FLOOR``); every byte also counts against the input's budget."""

    def __init__(self, ctx: ScanContext, zip_size: int) -> None:
        self._ctx = ctx
        self._zip_size = zip_size
        self.cap = max(ctx.limits.max_ratio * zip_size, ZIP_RATIO_FLOOR)
        self.used = 0
        self.exhausted = False

    def charge(self, count: int) -> None:
        self._ctx.charge(count)
        self.used += count
        if self.used > self.cap:
            self.exhausted = True
            raise LimitExceeded(
                f"the members of this zip expand past {self.cap:,} bytes, over "
                f"{self._ctx.limits.max_ratio}:1 of its {self._zip_size:,} bytes "
                "(zip bomb?); the rest of the zip is skipped"
            )
