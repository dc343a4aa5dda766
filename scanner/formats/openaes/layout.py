"""OpenAES messages, as TWRP writes encrypted backups.

Sources: OpenAES 0.9 (Nabil S. Al Ramli, ``oaes_lib.c``: ``oaes_encrypt`` writes a
16-byte header ``OAES`` / OAES_VERSION 0x01 / OAES_HEADER_TYPE_MSG 0x02 / options u16 LE /
flags u8 / reserved, then the 16-byte IV, then the CBC ciphertext; OAES_FLAG_PAD marks a
padded message whose pad bytes are ``01 02 .. n``); TWRP's ``openaes`` tool, run by
``twrpTar`` after gzip, encrypts 4064 bytes at a time, so every message but the last is
4096 bytes; ../shared/docs/formats.md ("TWRP backups"). Checked against
../shared/samples/real/twrp-oaes/.
"""

from __future__ import annotations

from construct import Bytes, Const, Int8ul, Int16ul, Struct

MAGIC = b"OAES"
BLOCK_SIZE = 16  # AES block
HEADER_SIZE = 16
IV_SIZE = 16
MESSAGE_SIZE = 4096  # one TWRP read/write unit: header + IV + up to 4064 bytes
PAYLOAD_SIZE = MESSAGE_SIZE - HEADER_SIZE - IV_SIZE  # 4064 = 254 AES blocks

OPTION_ECB = 0x0001
OPTION_CBC = 0x0002
FLAG_PAD = 0x01

OaesHeader = Struct(
    "magic" / Const(MAGIC),
    "version" / Const(1, Int8ul),
    "type" / Const(2, Int8ul),  # OAES_HEADER_TYPE_MSG (1 would be an exported key)
    "options" / Int16ul,
    "flags" / Int8ul,
    "reserved" / Bytes(7),
)
