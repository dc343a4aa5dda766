"""Formats whose files are read together, not one by one (a database and its journal).

The pipeline hands every file a grouper claims to that grouper, tells it when the walk
moves on to another file (so it can read the groups of a finished directory) and flushes
it when the container level ends. It knows nothing else of the format. A file input
given on its own asks the groupers which files beside it belong to its group.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import BinaryIO, ClassVar

from scanner.artifacts import Artifact
from scanner.containers.base import Container
from scanner.context import ScanContext
from scanner.errors import LibraryErrors
from scanner.model import Candidate
from scanner.roles import Role

# Runs a group's reading so that a failure becomes a problem at that provenance.
Guard = Callable[[tuple[str, ...]], AbstractContextManager[None]]


class Grouper(ABC):
    """Holds the files of one container level until each group is complete, then reads it.

    One grouper is made per container level (``ctx``, and ``guard`` from the pipeline).
    ``raises``: the library exceptions its reading lets through, and what each means.
    """

    name: ClassVar[str]
    role: ClassVar[Role] = Role.GROUPED
    raises: ClassVar[LibraryErrors] = {}

    def __init__(self, ctx: ScanContext, guard: Guard) -> None:
        self.ctx = ctx
        self.guard = guard

    @classmethod
    @abstractmethod
    def member_kind(cls, head: bytes) -> str | None:
        """What part of a group these first bytes are ("db", "wal"…); None: not ours."""

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return cls.member_kind(head) is not None

    @classmethod
    def companions(cls, name: str, head: bytes) -> tuple[str, ...]:
        """Names of the files beside a file given on its own (``name``, first bytes
        ``head``) that its group reads with it, as the format's own software would."""
        return ()

    @classmethod
    def extract_alone(
        cls, artifact: Artifact, stream: BinaryIO, ctx: ScanContext
    ) -> Iterator[Candidate]:
        """The candidates of a file that is a whole group by itself, read in a worker
        (``scanner/pool.py``) as ``flush`` would read it here; for the formats whose
        groupers send such files there."""
        raise NotImplementedError(f"{cls.name} sends no file to a worker")

    @abstractmethod
    def add(self, kind: str, artifact: Artifact, stream_source: Callable[[], BinaryIO]) -> None:
        """Take one member; ``stream_source()`` is its stream, valid only during this call."""

    def claim(self, artifact: Artifact) -> Container | None:
        """The container that reads ``artifact`` because a member of this level already
        said what it is (a Neo Backup's properties naming its encrypted archives, whose
        bytes have no marks); None: its own content decides."""
        return None

    @abstractmethod
    def next_artifact(self, artifact: Artifact) -> None:
        """The walk reached ``artifact`` (any file, claimed or not)."""

    @abstractmethod
    def flush(self) -> None:
        """Read every group still held: the container level is done."""
