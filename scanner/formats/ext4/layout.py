"""ext4 on-disk structures needed to tell allocated blocks from free ones.

Source: the Linux kernel's "ext4 Data Structures and Algorithms",
Documentation/filesystems/ext4/super.rst ("Super Block"), group_descr.rst ("Block Group
Descriptors") and bitmaps.rst ("Block and inode Bitmaps"); fs/ext4/ext4.h
(struct ext4_super_block, struct ext4_group_desc). Every integer is little-endian. Only
the leading fields used by the carver are laid out; the rest is padding.
"""

from __future__ import annotations

from construct import Bytes, Int16ul, Int32ul, Padding, Struct

SUPERBLOCK_OFFSET = 1024  # from the start of the file system, whatever the block size
SUPERBLOCK_SIZE = 1024
EXT4_MAGIC = 0xEF53
MAGIC_OFFSET = 0x38  # s_magic, inside the superblock

INCOMPAT_META_BG = 0x10  # descriptors spread over the disk (not read: "unknown")
INCOMPAT_64BIT = 0x80  # descriptors of s_desc_size bytes, block numbers with _hi halves
RO_COMPAT_BIGALLOC = 0x200  # bitmaps count clusters of 2^s_log_cluster_size blocks

BG_BLOCK_UNINIT = 0x2  # the group's block bitmap was never written: all its blocks are free

# super.rst: struct ext4_super_block, offsets 0x0 .. 0x154.
SUPERBLOCK = Struct(
    "inodes_count" / Int32ul,  # 0x0
    "blocks_count_lo" / Int32ul,  # 0x4
    Padding(12),  # 0x8 reserved, free blocks, free inodes
    "first_data_block" / Int32ul,  # 0x14: 1 for 1 KiB blocks, else 0
    "log_block_size" / Int32ul,  # 0x18: block size = 2 ^ (10 + this)
    "log_cluster_size" / Int32ul,  # 0x1C: cluster size = 2 ^ (10 + this) with bigalloc
    "blocks_per_group" / Int32ul,  # 0x20
    "clusters_per_group" / Int32ul,  # 0x24
    "inodes_per_group" / Int32ul,  # 0x28
    Padding(12),  # 0x2C mtime, wtime, mount counts
    "magic" / Int16ul,  # 0x38: 0xEF53
    Padding(34),  # 0x3A state .. 0x5B block_group_nr
    "feature_compat" / Int32ul,  # 0x5C
    "feature_incompat" / Int32ul,  # 0x60
    "feature_ro_compat" / Int32ul,  # 0x64
    "uuid" / Bytes(16),  # 0x68
    Padding(0xFE - 0x78),  # 0x78 volume name .. 0xFD jnl_backup_type
    "desc_size" / Int16ul,  # 0xFE: group descriptor size with INCOMPAT_64BIT (else 32)
    Padding(0x150 - 0x100),  # 0x100 default mount options .. s_jnl_blocks
    "blocks_count_hi" / Int32ul,  # 0x150: with INCOMPAT_64BIT
)

# group_descr.rst: struct ext4_group_desc; the first 32 bytes exist in every file system.
GROUP_DESCRIPTOR = Struct(
    "block_bitmap_lo" / Int32ul,  # 0x0
    "inode_bitmap_lo" / Int32ul,  # 0x4
    "inode_table_lo" / Int32ul,  # 0x8
    Padding(6),  # 0xC free blocks, free inodes, used dirs (low halves)
    "flags" / Int16ul,  # 0x12: BG_BLOCK_UNINIT ...
    Padding(12),  # 0x14 exclude bitmap .. 0x1E checksum
)
GROUP_DESCRIPTOR_SIZE = 32

# The upper halves, present when INCOMPAT_64BIT and s_desc_size >= 64.
GROUP_DESCRIPTOR_HI = Struct(
    "block_bitmap_hi" / Int32ul,  # 0x20
)
