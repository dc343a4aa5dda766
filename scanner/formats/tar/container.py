"""tar (ustar, GNU, pax), read in one forward pass with no rewinds.

Used by adb backups, TWRP ``.win`` files (GNU long names plus pax records such as
``RHT.security.selinux`` or ``SCHILY.xattr.*``) and storage exports. Member names are
mapped to device paths so the same extractors serve every kind of backup.

Headers are read by ``reader.HeaderReader`` (layouts in ``layout.py``) from a stream that
only goes forward (``_Source``); member data is read straight from it. Guards:
- a member is skipped by reading forward in bounded chunks that notice the end of the
  data (a 1 TB size field in a 1 KB file must not spin);
- header records (pax, GNU long names, sparse maps) are read through a byte budget,
  since a record is held in memory whole;
- the reason the archive ended is kept, so a stream cut at a member boundary is reported
  as truncated instead of ending quietly.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, BinaryIO

from scanner.artifacts import Artifact
from scanner.artifacts.artifact import as_binary
from scanner.artifacts.device_paths import member_device_path
from scanner.containers.base import Container
from scanner.context import ScanContext
from scanner.errors import Corrupt, LimitExceeded, ScanError, Truncated
from scanner.formats.tar.layout import Fault, HeaderFault
from scanner.formats.tar.reader import HeaderReader, Member
from scanner.formats.tar.sparse import SparseData, checked_map

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

# The most one member's header records may take. Linux caps a file's xattrs at 64 KiB and
# a path at 4 KiB; a record claiming more is hostile or broken.
MAX_HEADER_BYTES = 8 << 20
_SKIP_CHUNK = 256 * 1024  # a skipped member is read in bounded pieces
RATIO_FLOOR = 1 << 20  # holes up to max_ratio times this are made whatever the data


def is_tar_header(block: bytes) -> bool:
    """A 512-byte ustar/GNU header: the magic at 257 and a valid header checksum."""
    if len(block) < 512 or block[257:262] != b"ustar":
        return False
    try:
        stored = int(block[148:156].replace(b"\x00", b" ").strip() or b"0", 8)
    except ValueError:
        return False
    computed = sum(block[:148]) + 8 * 32 + sum(block[156:512])
    return stored == computed


class _Source:
    """The tar's byte stream: counts what it reads, enforces the header budget, and seeks
    forward only (by reading)."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner
        self.direct = hasattr(inner, "readinto")  # member data can be read into a buffer
        self.count = 0
        self._cap: int | None = None

    def header_budget(self) -> None:
        self._cap = self.count + MAX_HEADER_BYTES

    def unlimited(self) -> None:
        self._cap = None

    def _over_budget(self, end: int | None) -> None:
        if self._cap is not None and (end is None or end > self._cap):
            raise LimitExceeded(
                f"tar header records longer than {MAX_HEADER_BYTES:,} bytes; the rest is skipped"
            )

    def read(self, size: int = -1) -> bytes:
        # Header records are read in one piece of their claimed size: refuse it whole.
        self._over_budget(None if size < 0 else self.count + size)
        data = self._inner.read(size)
        self.count += len(data)
        return data

    def readinto(self, buffer: memoryview) -> int:
        """Member data (never under a header budget): straight into the reader's buffer."""
        if self.direct:
            count: int = self._inner.readinto(buffer)  # type: ignore[attr-defined]
        else:
            data = self._inner.read(len(buffer))
            count = len(data)
            buffer[:count] = data
        self.count += count
        return count

    def tell(self) -> int:
        return self.count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence != io.SEEK_SET or offset < self.count:
            raise Corrupt(f"tar reader asked to go back to byte {offset:,} of a forward stream")
        self._over_budget(offset)
        # Into one scratch buffer when the stream can: no new bytes object per piece.
        scratch = memoryview(bytearray(min(offset - self.count, _SKIP_CHUNK)))
        while self.count < offset:
            piece = scratch[: offset - self.count]
            if not self.readinto(piece):
                break  # the stream ends before ``offset``
        return self.count


def _usable_time(mtime: float) -> float | None:
    """The member's time, unless unset or out of any calendar (a pax ``mtime=inf``)."""
    try:
        datetime.fromtimestamp(mtime, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return float(mtime) if mtime else None


def _skip_to(source: _Source, target: int, last_good: str) -> None:
    """Read forward to ``target`` (where the next header starts), noticing the end."""
    if source.seek(target) < target:
        raise Truncated(f"tar stream ends inside member {last_good}")


def _next_member(reader: HeaderReader, source: _Source, last_good: str | None) -> Member | None:
    """The next member, or None at the end-of-archive block; why the list ended otherwise,
    in the words keyscan gave while tarfile read the headers (``last_good`` None: the
    first header)."""
    where = "the start" if last_good is None else f"member {last_good}"
    source.header_budget()
    try:
        return reader.next()
    except HeaderFault as fault:
        if fault.nested:  # an extended header announced a member that is not there
            raise Corrupt(f"bad tar header after {where}: {fault}") from fault
        if fault.fault is Fault.END:
            return None
        if last_good is None:
            if fault.fault is Fault.EMPTY:
                raise Truncated("tar stream ends early, after the start") from fault
            raise Corrupt(f"bad tar header after the start: {fault}") from fault
        if fault.fault in (Fault.EMPTY, Fault.CUT):
            raise Truncated(
                f"tar stream ends without its end-of-archive blocks after {last_good}"
            ) from fault
        raise Corrupt(f"bad tar header after {last_good} ({fault}); the rest is skipped") from fault
    except EOFError as error:
        raise Truncated(f"tar stream ends early, after {where}") from error
    finally:
        source.unlimited()


class _MemberData(io.RawIOBase):
    """A member's data read straight from the tar's source into the reader's buffer;
    a cut becomes ``Truncated``."""

    def __init__(self, source: _Source, size: int) -> None:
        self._source = source
        self._end = source.count + size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        left = self._end - self._source.count
        if left <= 0:
            return 0
        view = memoryview(buffer).cast("B")[:left]
        count = self._source.readinto(view)
        if not count:
            raise Truncated("ends early: unexpected end of data")
        return count


class Tar(Container):
    name = "tar"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return is_tar_header(head[:512])

    def walk(self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext) -> Iterator[Artifact]:
        source = _Source(stream)
        reader = HeaderReader(source)
        last_good = "(none)"  # the last file member
        count = 0
        next_offset = 0
        while True:
            if count:
                _skip_to(source, next_offset, last_good)
            member = _next_member(reader, source, last_good if count else None)
            if member is None:
                return
            next_offset = member.next_offset
            count += 1
            if count > ctx.limits.max_entries:
                raise LimitExceeded(
                    f"more than {ctx.limits.max_entries:,} members; the rest is skipped"
                )
            if not member.is_file:
                continue
            last_good = member.name
            opener = self._opener(member, source, artifact, ctx)
            if opener is None:
                continue
            child = artifact.child(
                member.name,
                opener,
                size=member.size,
                mtime=_usable_time(member.mtime),
                mtime_source="tar member mtime",
                device_path=member_device_path(member.name),
                reopenable=False,
            )
            with ctx.charging(member.sparse is not None):  # its holes count against the budget
                yield child

    @staticmethod
    def _opener(
        member: Member, source: _Source, artifact: Artifact, ctx: ScanContext
    ) -> Callable[[], BinaryIO] | None:
        """How to read a member's data, or None (with a problem) when it is not read."""
        where = (*artifact.chain, member.name)
        if member.size > ctx.limits.max_member_bytes:
            ctx.report(
                LimitExceeded(
                    f"member claims {member.size:,} bytes, over the "
                    f"{ctx.limits.max_member_bytes:,}-byte limit; skipped"
                ),
                where,
            )
            return None
        # Unbuffered: a read-ahead would meet a cut before the member's own reader.
        stream: io.RawIOBase
        if member.sparse is None:
            stream = _MemberData(source, member.size)
        else:
            try:
                pieces = checked_map(
                    member.sparse, member.size, member.next_offset - member.data_offset
                )
            except ScanError as error:
                ctx.report(error, where)
                return None
            held = sum(length for _, length in pieces)
            if member.size > max(held, RATIO_FLOOR) * ctx.limits.max_ratio:
                ctx.report(
                    LimitExceeded(
                        f"sparse member declares {member.size:,} bytes for {held:,} bytes "
                        f"of data, over the {ctx.limits.max_ratio}:1 limit; skipped"
                    ),
                    where,
                )
                return None
            stream = SparseData(source, pieces, member.size, ctx.charge)  # holes are made
        binary = as_binary(stream)
        return lambda: binary
