"""What every benchmark script shares: the peak memory of the measuring child process,
and the bare work a backup scan is compared with."""

from __future__ import annotations

import resource
from collections.abc import Callable
from pathlib import Path
from typing import Any

_PIECE = 1 << 20


def peak_rss_mib() -> float:
    """This process's peak resident set size (VmHWM), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bare_ab_decode(path: Path, password: str, decompressobj: Callable[[], Any]) -> int:
    """Decrypt (if encrypted) and inflate an adb backup's body in 1 MiB pieces, with no
    scanning: the unavoidable work, with the scanner's own AES (OpenSSL's, through
    ``cryptography``) and the given inflate. Returns the decoded size."""
    from scanner.formats.adb.crypto import cbc_decryptor, unlock
    from scanner.formats.adb.stream import parse_header

    with open(path, "rb") as handle:
        header = parse_header(handle.read(8192), at_eof=False)
        handle.seek(header.size)
        cipher = None
        if header.aes is not None:
            master = unlock(header.aes, header.version, [password])
            cipher = cbc_decryptor(master.key, master.iv)
        inflater = decompressobj()
        produced = 0
        while chunk := handle.read(_PIECE):
            if cipher is not None:
                chunk = cipher.update(chunk)  # keeps a partial block for the next piece
            produced += len(inflater.decompress(chunk))
    return produced
