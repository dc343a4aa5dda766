"""Reading an ext4 image: is it one, and is a block allocated or free (its block bitmaps).

The carver asks this of every database, WAL and text fragment it cuts out of an ext4
image; layouts are ``layout`` (the kernel's Documentation/filesystems/ext4).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable

from construct import ConstructError
from construct import Container as Parsed

from scanner.formats.ext4.layout import (
    BG_BLOCK_UNINIT,
    EXT4_MAGIC,
    GROUP_DESCRIPTOR,
    GROUP_DESCRIPTOR_HI,
    GROUP_DESCRIPTOR_SIZE,
    INCOMPAT_64BIT,
    INCOMPAT_META_BG,
    MAGIC_OFFSET,
    RO_COMPAT_BIGALLOC,
    SUPERBLOCK,
    SUPERBLOCK_OFFSET,
    SUPERBLOCK_SIZE,
)

MAX_DESCRIPTOR_BYTES = 16 << 20  # a group descriptor table larger than this is not read


def is_ext4(head: bytes) -> bool:
    at = SUPERBLOCK_OFFSET + MAGIC_OFFSET
    if int.from_bytes(head[at : at + 2], "little") != EXT4_MAGIC:
        return False
    at = SUPERBLOCK_OFFSET + 0x18  # s_log_block_size
    return int.from_bytes(head[at : at + 4], "little") <= 6  # 1 KiB .. 64 KiB blocks


class Ext4Map:
    """Allocated or free, per block, from an ext4 image's block bitmaps.

    With a re-readable source the few blocks needed (descriptor table, one bitmap per
    group asked about) are read on demand; otherwise they are kept as the stream passes
    them (bitmaps always come before the blocks they describe).
    """

    def __init__(self, sb: Parsed, read_at: Callable[[int, int], bytes] | None) -> None:
        self.block_size: int = 1024 << sb.log_block_size
        wide = bool(sb.feature_incompat & INCOMPAT_64BIT)
        self.blocks: int = sb.blocks_count_lo | (sb.blocks_count_hi << 32 if wide else 0)
        self.first: int = sb.first_data_block
        bigalloc = sb.feature_ro_compat & RO_COMPAT_BIGALLOC
        self.cluster_bits: int = sb.log_cluster_size - sb.log_block_size if bigalloc else 0
        self.per_group: int = sb.clusters_per_group if bigalloc else sb.blocks_per_group
        self.desc_size: int = sb.desc_size if wide and sb.desc_size >= 64 else GROUP_DESCRIPTOR_SIZE
        clusters = ((self.blocks - self.first) >> self.cluster_bits) or 1
        self.groups = -(-clusters // self.per_group)
        self.table_at = (self.first + 1) * self.block_size  # right after the superblock
        self.read_at = read_at
        self._table: bytes | None = None
        self._table_part = bytearray()  # streaming: the table as it passes
        self._bitmaps: dict[int, bytes | None] = {}  # group -> bitmap (b"" never written)
        self._wanted: list[tuple[int, int]] = []  # streaming: (offset, group) still to keep

    @classmethod
    def from_head(cls, head: bytes, read_at: Callable[[int, int], bytes] | None) -> Ext4Map | None:
        if not is_ext4(head):
            return None
        try:
            sb = SUPERBLOCK.parse(head[SUPERBLOCK_OFFSET : SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE])
        except ConstructError:
            return None
        groups_ok = sb.blocks_per_group > 0 and sb.clusters_per_group > 0
        if not groups_ok or sb.feature_incompat & INCOMPAT_META_BG or sb.log_cluster_size > 16:
            return None  # meta_bg scatters the descriptors: not read, so "unknown"
        found = cls(sb, read_at)
        if found.groups * found.desc_size > MAX_DESCRIPTOR_BYTES:
            return None
        return found

    def _descriptors(self) -> bytes | None:
        if self._table is None and self.read_at is not None:
            self._table = self.read_at(self.table_at, self.groups * self.desc_size)
        return self._table

    def _bitmap_place(self, group: int) -> int | None:
        """Byte offset of a group's bitmap; -1 if never written (all free); None unknown."""
        table = self._descriptors()
        at = group * self.desc_size
        if table is None or len(table) < at + self.desc_size:
            return None
        desc = GROUP_DESCRIPTOR.parse(table[at : at + GROUP_DESCRIPTOR_SIZE])
        if desc.flags & BG_BLOCK_UNINIT:
            return -1
        block = desc.block_bitmap_lo
        if self.desc_size >= 64:
            block |= GROUP_DESCRIPTOR_HI.parse(table[at + 32 : at + 36]).block_bitmap_hi << 32
        return block * self.block_size if 0 < block < self.blocks else None

    def _bitmap(self, group: int) -> bytes | None:
        if group not in self._bitmaps and self.read_at is not None:
            place = self._bitmap_place(group)
            size = -(-self.per_group // 8)
            bitmap: bytes | None = None
            if place is not None and place < 0:
                bitmap = b""
            elif place is not None:
                bitmap = self.read_at(place, size)
                bitmap = bitmap if len(bitmap) == size else None  # the image ends first
            self._bitmaps[group] = bitmap
        return self._bitmaps.get(group)

    def status(self, offset: int) -> str:
        """Deleted? "yes" (a free block), "no" (a live file's block) or "unknown"."""
        block = offset // self.block_size
        if not self.first <= block < self.blocks:
            return "unknown"
        group, bit = divmod((block - self.first) >> self.cluster_bits, self.per_group)
        bitmap = self._bitmap(group)
        if bitmap is None:
            return "unknown"
        if not bitmap or not (bitmap[bit >> 3] >> (bit & 7)) & 1:
            return "yes"
        return "no"

    def span(self, offset: int, low: int, high: int) -> tuple[int, int]:
        """``[low, high)`` narrowed to the blocks around ``offset`` of the same status."""
        size, status = self.block_size, self.status(offset)
        start = offset - offset % size
        while start > low and self.status(start - 1) == status:
            start -= size
        stop = offset - offset % size + size
        while stop < high and self.status(stop) == status:
            stop += size
        return max(low, start), min(high, stop)

    def observe(self, offset: int, data: memoryview) -> None:
        """Keep the descriptor table and the bitmaps as a forward-only stream passes."""
        end = offset + len(data)
        if self._table is None:
            want = self.groups * self.desc_size
            have = self.table_at + len(self._table_part)
            if offset <= have < end:
                self._table_part += data[have - offset : min(end, self.table_at + want) - offset]
            if len(self._table_part) < want:
                return
            self._table = bytes(self._table_part)
            places = ((self._bitmap_place(g), g) for g in range(self.groups))
            for place, group in places:
                if place is not None and place >= 0:
                    self._wanted.append((place, group))
                else:
                    self._bitmaps[group] = b"" if place == -1 else None
            self._wanted.sort()
        size = -(-self.per_group // 8)
        first = bisect_left(self._wanted, (offset, -1))
        last = bisect_right(self._wanted, (end - size, self.groups))
        for place, group in self._wanted[first:last]:
            self._bitmaps[group] = bytes(data[place - offset : place - offset + size])
        del self._wanted[first:last]
