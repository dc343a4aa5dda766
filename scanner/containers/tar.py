"""tar (ustar, GNU, pax), read in one forward pass with no rewinds.

Used by adb backups, TWRP ``.win`` files and storage exports. Member names are mapped
to device paths so the same extractors serve every kind of backup.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from typing import BinaryIO

from scanner.artifacts import Artifact
from scanner.artifacts.device_paths import adb_member_to_device_path, storage_member_to_device_path
from scanner.containers.base import Container
from scanner.context import ScanContext
from scanner.errors import Corrupt, LimitExceeded, Truncated


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


class Tar(Container):
    name = "tar"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return is_tar_header(head[:512])

    def walk(self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext) -> Iterator[Artifact]:
        last_good = "(none)"
        try:
            archive = tarfile.open(fileobj=stream, mode="r|")  # noqa: SIM115 - closed below
        except tarfile.ReadError as error:
            raise Corrupt(f"not a readable tar: {error}") from error
        count = 0
        try:
            while True:
                try:
                    member = archive.next()
                except (tarfile.ReadError, EOFError) as error:
                    if "unexpected end" in str(error) or isinstance(error, EOFError):
                        raise Truncated(
                            f"tar stream ends early; last complete member: {last_good}"
                        ) from error
                    raise Corrupt(f"bad tar header after {last_good}: {error}") from error
                if member is None:
                    return
                count += 1
                if count > ctx.limits.max_entries:
                    raise LimitExceeded(
                        f"more than {ctx.limits.max_entries:,} members; the rest is skipped"
                    )
                if not member.isfile():
                    continue
                if member.size > ctx.limits.max_member_bytes:
                    ctx.problem(
                        "limit",
                        (*artifact.chain, member.name),
                        f"member claims {member.size:,} bytes, over the "
                        f"{ctx.limits.max_member_bytes:,}-byte limit; skipped",
                    )
                    continue
                handle = archive.extractfile(member)
                if handle is None:
                    continue
                yield artifact.child(
                    member.name,
                    lambda handle=handle: handle,  # type: ignore[misc]
                    size=member.size,
                    mtime=float(member.mtime) if member.mtime else None,
                    mtime_source="tar member mtime",
                    device_path=adb_member_to_device_path(member.name)
                    or storage_member_to_device_path(member.name),
                    reopenable=False,
                )
                last_good = member.name
        finally:
            archive.close()
