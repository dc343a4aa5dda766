"""tar (ustar, GNU, pax), read in one forward pass with no rewinds.

Used by adb backups, TWRP ``.win`` files (GNU long names plus pax records such as
``RHT.security.selinux`` or ``SCHILY.xattr.*``, which tarfile keeps in ``pax_headers``)
and storage exports. Member names are mapped to device paths so the same extractors
serve every kind of backup.

tarfile reads headers (``r:`` mode) from a stream that only goes forward (``_Source``):
member data is read straight from it, without the 10 KiB re-buffering of tarfile's stream
mode (``r|``), which cost more than the inflate under it. Guards of our own:
- a member is skipped by reading forward in bounded chunks that notice the end of the
  data (a 1 TB size field in a 1 KB file must not spin);
- header records (pax, GNU long names) are read through a byte budget, because tarfile
  reads a record of the claimed size into memory in one piece;
- the reason the archive ended is kept, so a stream cut at a member boundary is reported
  as truncated instead of ending quietly;
- pax record blocks are repaired before tarfile parses them (``repair_pax``): TWRP writes
  records that newer tarfile versions reject.
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Callable, Iterator
from typing import BinaryIO, TypeVar

from scanner.artifacts import Artifact
from scanner.artifacts.device_paths import adb_member_to_device_path, storage_member_to_device_path
from scanner.containers.base import Container
from scanner.context import ScanContext
from scanner.errors import Corrupt, LimitExceeded, Truncated

# The most one member's header records may take. Linux caps a file's xattrs at 64 KiB and
# a path at 4 KiB; a record claiming more is hostile or broken.
MAX_HEADER_BYTES = 8 << 20
_SKIP_CHUNK = 256 * 1024  # a skipped member is read in bounded pieces
_T = TypeVar("_T")


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


def member_device_path(name: str) -> str | None:
    """Where a member of a backup tar or zip lived on the phone, when its name tells."""
    return adb_member_to_device_path(name) or storage_member_to_device_path(name)


class _Source:
    """The byte stream under tarfile: counts what it reads, enforces the header budget, and
    seeks forward only (by reading; tarfile seeks to where it already is)."""

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
        count = self._inner.readinto(buffer)  # type: ignore[attr-defined]
        self.count += count
        return count  # type: ignore[no-any-return]

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
            got = self.readinto(piece) if self.direct else len(self.read(len(piece)))
            if not got:
                break  # the next read gives nothing: tarfile says "unexpected end of data"
        return self.count


_PAX_LENGTH = re.compile(rb"(\d{1,20}) ")


def _pax_record(body: bytes) -> bytes:
    """``<length> <body>\n`` where the length counts its own digits."""
    size = len(body) + 2
    digits = len(str(size))
    while len(str(size + digits)) != digits:
        digits += 1
    return b"%d %s\n" % (size + digits, body)


def repair_pax(buf: bytes) -> bytes:
    """Give TWRP's flag records an ``=``, so that every tarfile version accepts them.

    TWRP's libtar writes ``ANDROID.user.default``, ``.inode_cache`` and
    ``.inode_code_cache`` as bare ``<len> <keyword>\n`` records; newer tarfile (3.12.6+,
    3.13) rejects the whole header for it, older versions garble the next keyword. Other
    records are rewritten byte for byte; whatever does not parse is left for tarfile.
    """
    out: list[bytes] = []
    pos = 0
    while match := _PAX_LENGTH.match(buf, pos):
        end = pos + int(match.group(1))
        if end <= match.end() or end > len(buf) or buf[end - 1] != 0x0A:
            break
        body = buf[match.end() : end - 1]
        out.append(_pax_record(body if b"=" in body else body + b"="))
        pos = end
    return b"".join(out) + buf[pos:]


class _Replay:
    """tarfile's stream, whose next read answers with bytes we already read (and fixed)."""

    def __init__(self, first: bytes, stream: object) -> None:
        self._first: bytes | None = first
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        return self._stream.read(size)  # type: ignore[attr-defined, no-any-return]

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)  # tell(), seek(): the real position


class _TarInfo(tarfile.TarInfo):
    def _proc_pax(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        # tarfile reads the whole record block with one read first: hand it the fixed one.
        stream = tarfile_.fileobj
        assert stream is not None
        raw = stream.read(self._block(self.size))  # type: ignore[attr-defined]
        tarfile_.fileobj = _Replay(repair_pax(raw), stream)  # type: ignore[assignment]
        try:
            return super()._proc_pax(tarfile_)  # type: ignore[misc, no-any-return]
        finally:
            tarfile_.fileobj = stream

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        try:
            return super().fromtarfile(tarfile_)
        except tarfile.HeaderError as error:
            # tarfile ends the archive quietly on most header errors; keep why it ended.
            if isinstance(tarfile_, _TarFile):
                tarfile_.end_reason = error
            raise


class _TarFile(tarfile.TarFile):
    end_reason: tarfile.HeaderError | None = None


def _skip_to(source: _Source, target: int, last_good: str) -> None:
    """Read forward to ``target`` (tarfile's offset of the next header), noticing the end."""
    if source.seek(target) < target:
        raise Truncated(f"tar stream ends inside member {last_good}")


def _end_problem(archive: _TarFile, last_good: str) -> Exception | None:
    """Why the member list ended, when it was not the end-of-archive blocks."""
    reason = archive.end_reason
    if reason is None or isinstance(reason, tarfile.EOFHeaderError):
        return None
    if isinstance(reason, (tarfile.EmptyHeaderError, tarfile.TruncatedHeaderError)):
        return Truncated(f"tar stream ends without its end-of-archive blocks after {last_good}")
    return Corrupt(f"bad tar header after {last_good} ({reason}); the rest is skipped")


def _headers(read: Callable[[], _T], where: str) -> _T:
    """Run a tarfile call that reads headers, with its errors in our words."""
    try:
        return read()
    except tarfile.ReadError as error:
        if "unexpected end" in str(error) or "empty file" in str(error):
            raise Truncated(f"tar stream ends early, after {where}") from error
        raise Corrupt(f"bad tar header after {where}: {error}") from error
    except EOFError as error:
        raise Truncated(f"tar stream ends early, after {where}") from error
    except RecursionError as error:
        raise Corrupt(f"extended headers after {where} nest without end") from error


class _MemberData(io.RawIOBase):
    """A member's data read straight from the tar's source into the reader's buffer (one
    copy, where tarfile's own reader makes four); a cut becomes ``Truncated``."""

    def __init__(self, source: _Source, size: int) -> None:
        self._source = source
        self._end = source.count + size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        left = self._end - self._source.count
        if left <= 0:
            return 0
        view = memoryview(buffer).cast("B")
        count = self._source.readinto(view[: min(len(view), left)])
        if not count:
            raise Truncated("ends early: unexpected end of data")
        return count


class _MemberStream(io.RawIOBase):
    """A member's data by tarfile (sparse members); "unexpected end of data" (a cut)
    becomes ``Truncated``."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            return self._handle.readinto(buffer)  # type: ignore[attr-defined, no-any-return]
        except tarfile.ReadError as error:  # the words the pipeline has always given it
            raise Truncated(f"ends early: {error}") from error

    def close(self) -> None:
        self._handle.close()
        super().close()


class Tar(Container):
    name = "tar"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return is_tar_header(head[:512])

    def walk(self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext) -> Iterator[Artifact]:
        last_good = "(none)"
        source = _Source(stream)
        source.header_budget()
        archive = _headers(  # reads the first header
            lambda: _TarFile(fileobj=source, mode="r", tarinfo=_TarInfo),  # type: ignore[arg-type]
            "the start",
        )
        member, archive.firstmember = archive.firstmember, None
        count = 0
        try:
            while True:
                if count:
                    source.unlimited()
                    _skip_to(source, archive.offset, last_good)
                    archive.end_reason = None
                    source.header_budget()
                    member = _headers(archive.next, f"member {last_good}")
                source.unlimited()
                archive.members.clear()  # tarfile keeps every header read; we need none
                if member is None:
                    problem = _end_problem(archive, last_good)
                    if problem is not None:
                        raise problem
                    return
                count += 1
                if count > ctx.limits.max_entries:
                    raise LimitExceeded(
                        f"more than {ctx.limits.max_entries:,} members; the rest is skipped"
                    )
                if not member.isfile():
                    continue
                last_good = member.name
                if member.size > ctx.limits.max_member_bytes:
                    ctx.report(
                        LimitExceeded(
                            f"member claims {member.size:,} bytes, over the "
                            f"{ctx.limits.max_member_bytes:,}-byte limit; skipped"
                        ),
                        (*artifact.chain, member.name),
                    )
                    continue
                # Unbuffered: a read-ahead would meet a cut before the member's own reader.
                stream: io.RawIOBase
                if source.direct and not member.issparse() and source.count == member.offset_data:
                    stream = _MemberData(source, member.size)
                else:
                    handle = archive.extractfile(member)
                    if handle is None:
                        continue
                    stream = _MemberStream(handle)
                yield artifact.child(
                    member.name,
                    lambda stream=stream: stream,  # type: ignore[misc]
                    size=member.size,
                    mtime=float(member.mtime) if member.mtime else None,
                    mtime_source="tar member mtime",
                    device_path=member_device_path(member.name),
                    reopenable=False,
                )
        finally:
            archive.close()
