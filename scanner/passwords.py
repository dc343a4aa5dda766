"""Passwords as given: bytes first (argv, the environment and files are bytes before text).

Each format turns a password into the bytes its own tool derived the key from: adb backups
from Java chars (``texts``), zips from the bytes as given or their text in UTF-8 / CP437
/ Latin-1, TWRP's OpenAES from the bytes as given. A password is never shown, in part or
whole: not in messages, reprs or tracebacks.
"""

from __future__ import annotations

from dataclasses import dataclass


def text_bytes(text: str) -> bytes:
    """A str back to the bytes it was made of (PEP 383 keeps undecodable bytes as surrogates)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate outside U+DC80..U+DCFF (e.g. Windows argv)
        return text.encode("utf-8", "surrogatepass")


@dataclass(frozen=True, repr=False)
class Password:
    raw: bytes

    @classmethod
    def of(cls, value: Password | str | bytes) -> Password:
        if isinstance(value, Password):
            return value
        if isinstance(value, str):
            return cls(text_bytes(value))
        return cls(bytes(value))

    def texts(self) -> list[str]:
        """The text it was typed as: UTF-8 when the bytes are UTF-8, else Latin-1 (each byte
        one char, so an 8-bit form of the text is the bytes as given)."""
        try:
            return [self.raw.decode("utf-8")]
        except UnicodeDecodeError:
            return [self.raw.decode("latin-1")]

    def encoded(self, *encodings: str) -> list[bytes]:
        """The bytes as given, then each text form in these encodings (those that can hold it)."""
        forms = [self.raw]
        for text in self.texts():
            for encoding in encodings:
                try:
                    forms.append(text.encode(encoding))
                except UnicodeEncodeError:
                    continue
        return list(dict.fromkeys(forms))

    def __repr__(self) -> str:
        return "Password(***)"

    __str__ = __repr__
