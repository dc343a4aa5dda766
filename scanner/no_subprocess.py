"""Keeps pycryptodome (imported by pyzipper for WinZip AES) from starting a program.

Its ctypes backend, taken when cffi cannot be imported (cffi is missing, or ``python -OO``),
asks ``platform.architecture()`` once before loading its first library, and that runs
``file -b <python>`` found on PATH: a program chosen by whoever controls PATH, inside a
forensic scan. The answer is only used to tell Windows from the rest, so it is given
beforehand. With cffi (a dependency of ``cryptography``) nothing is asked.
tests/test_no_subprocess.py runs keyscan under both backends with a fake ``file`` on PATH.
"""

from __future__ import annotations

import os
import struct


def answer_pycryptodome_architecture_question() -> None:
    """Fill pycryptodome's ctypes-backend cache of ``platform.architecture()``."""
    from Cryptodome.Util import _raw_api

    cache = getattr(_raw_api, "cached_architecture", None)
    if getattr(_raw_api, "backend", None) == "ctypes" and isinstance(cache, list) and not cache:
        bits = f"{struct.calcsize('P') * 8}bit"
        cache[:] = [bits, "WindowsPE" if os.name == "nt" else "ELF"]
