"""Zstandard frames: just what tells where a frame ends, without decoding it.

Source: RFC 8878 (Zstandard), section 3.1.1 (Zstandard frames: magic 0xFD2FB528 LE, the
Frame_Header_Descriptor, Window_Descriptor, Dictionary_ID, Frame_Content_Size; blocks
with a 3-byte little-endian Block_Header; an optional 4-byte Content_Checksum) and
section 3.1.2 (skippable frames: magic 0x184D2A5?, a 4-byte LE size, that many bytes).
"""

from __future__ import annotations

from construct import BitsInteger, BitStruct, ByteSwapped, Flag, Padding

FRAME_MAGIC = b"\x28\xb5\x2f\xfd"
SKIPPABLE_MAGIC_LOW = 0x184D2A50  # to 0x184D2A5F, read little-endian
SKIPPABLE_MAGIC_MASK = 0xFFFFFFF0
CHECKSUM_SIZE = 4

FrameHeaderDescriptor = BitStruct(
    "content_size_flag" / BitsInteger(2),  # Frame_Content_Size: 0 (or 1 if single), 2, 4, 8 bytes
    "single_segment" / Flag,  # no Window_Descriptor
    Padding(2),  # unused, reserved
    "checksum" / Flag,  # a Content_Checksum follows the last block
    "dictionary_id_flag" / BitsInteger(2),  # Dictionary_ID: 0, 1, 2, 4 bytes
)

# Block_Header: bit 0 Last_Block, bits 1-2 Block_Type, bits 3-23 Block_Size (LE 24 bits).
BlockHeader = ByteSwapped(
    BitStruct(
        "size" / BitsInteger(21),
        "type" / BitsInteger(2),  # 0 raw, 1 RLE (one byte stored), 2 compressed, 3 reserved
        "last" / Flag,
    )
)
BLOCK_HEADER_SIZE = 3
RLE_BLOCK = 1
RESERVED_BLOCK = 3
# Field sizes by their flags: Dictionary_ID, and Frame_Content_Size (flag 0 means 1 byte
# when single_segment is set, else none); a Window_Descriptor byte unless single_segment.
DICTIONARY_ID_SIZES = (0, 1, 2, 4)
CONTENT_SIZE_SIZES = (0, 2, 4, 8)
