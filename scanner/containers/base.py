"""What every container format provides: a content test and a walk over its members."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import BinaryIO, ClassVar

from scanner.artifacts import Artifact
from scanner.context import ScanContext
from scanner.errors import LibraryErrors
from scanner.roles import Role


class Container(ABC):
    """A format that holds files: detect it by its first bytes, then yield its members.

    ``walk`` yields child artifacts one by one; a forward-only child's stream is valid only
    until the next one is asked for. A child marked ``reopenable`` must stay openable after
    ``walk`` has ended (SQLite families are read when their directory is complete): only
    files on the examiner's disk qualify; archive members are ``reopenable=False``.
    Raise a ``ScanError`` for what stops the walk; the pipeline reports it and keeps every
    member already yielded. ``raises``: the library exceptions its reading lets through,
    and the problem each means.
    """

    name: ClassVar[str]
    role: ClassVar[Role] = Role.CONTAINER
    raises: ClassVar[LibraryErrors] = {}

    @classmethod
    @abstractmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool: ...

    @abstractmethod
    def walk(
        self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext
    ) -> Iterator[Artifact]: ...
