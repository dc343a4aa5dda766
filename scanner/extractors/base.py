"""What every extractor provides: a content test and a pass that yields candidates."""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import BinaryIO, ClassVar

from scanner.artifacts import Artifact
from scanner.artifacts.artifact import PrefixedStream, read_up_to
from scanner.artifacts.text import looks_like_text as looks_like_text  # the detectors use it
from scanner.context import ScanContext
from scanner.errors import LibraryErrors, LimitExceeded
from scanner.extractors.patterns import Engine, default_engine
from scanner.model import Candidate, DeviceInfo, Method
from scanner.roles import Role
from scanner.vocab.keys import confidence_for, is_wearable_model


class Extractor(ABC):
    """Turns one file into key candidates.

    ``extract`` yields candidates as it finds them, so a failure later in the file keeps
    what came before. Raise a ``ScanError`` for a damaged file; the pipeline reports it.
    ``raises``: the library exceptions its reading lets through, and what each means.
    """

    name: ClassVar[str]
    role: ClassVar[Role] = Role.EXTRACTOR
    raises: ClassVar[LibraryErrors] = {}

    @classmethod
    @abstractmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool: ...

    @abstractmethod
    def extract(
        self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext
    ) -> Iterator[Candidate]: ...


def artifact_time(artifact: Artifact) -> tuple[datetime | None, str]:
    """The fallback time of anything found in ``artifact``: its member or file mtime
    (without a zone when its zone is unknown)."""
    if artifact.mtime is None:
        return None, "none"
    moment = datetime.fromtimestamp(artifact.mtime, tz=timezone.utc)
    if not artifact.mtime_utc:
        moment = moment.replace(tzinfo=None)
    return moment, artifact.mtime_source


def engine_for(ctx: ScanContext) -> Engine:
    """The key-search engine this scan was told to use (``ScanOptions.pattern_engine``)."""
    return default_engine(ctx.options.pattern_engine)


def make_candidate(
    artifact: Artifact,
    *,
    key: str,
    field: str,
    where: str,
    method: Method,
    device: DeviceInfo | None = None,
    timestamp: datetime | None = None,
    timestamp_source: str | None = None,
    wearable_context: bool = False,
    deleted: bool = False,
) -> Candidate | None:
    """A candidate with the shared rules applied; None when the rules drop it.

    ``key`` must already be normalised (``fields.normalise_key``); ``where`` is the last
    provenance step (``DEVICE row 3 column AUTHKEY``, ``line 812``); without a timestamp of
    its own the candidate takes the artifact's mtime. Inside a carved artifact (see
    ``carving/raw_image.py``) the method is ``carve`` and ``deleted`` follows the carver.
    """
    device = device or DeviceInfo()
    if artifact.origin.carved:
        method = Method.CARVE
        deleted = deleted or artifact.origin.deleted is True
    context = wearable_context or is_wearable_model(device.model)
    confidence = confidence_for(field, artifact.app, context)
    if confidence is None:
        return None
    if timestamp is None:
        timestamp, timestamp_source = artifact_time(artifact)
    return Candidate(
        key=key,
        field=field,
        provenance=(*artifact.chain, where),
        method=method,
        app=artifact.app,
        device=device,
        timestamp=timestamp,
        timestamp_source=timestamp_source or "none",
        deleted=deleted,
        confidence=confidence,
    )


def read_document(
    artifact: Artifact, stream: BinaryIO, ctx: ScanContext, what: str
) -> tuple[bytes | None, BinaryIO]:
    """A JSON / XML document whole, if within ``max_text_bytes``.

    Past the limit: a ``limit`` problem, None, and a stream of all of it (what was read
    first included) for the line search instead.
    """
    cap = ctx.limits.max_text_bytes
    data = read_up_to(stream, cap + 1)
    if len(data) <= cap:
        return data, stream
    ctx.report(
        LimitExceeded(
            f"{what} document is larger than the {cap:,}-byte limit for parsing it whole; "
            "searched line by line instead"
        ),
        artifact.chain,
    )
    return None, io.BufferedReader(PrefixedStream(data, stream), buffer_size=1 << 16)
