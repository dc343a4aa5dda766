"""Artifacts: the virtual files that containers yield and extractors read."""

from scanner.artifacts.artifact import HEAD_SIZE, Artifact, sniff, spool
from scanner.artifacts.device_paths import app_of

__all__ = ["HEAD_SIZE", "Artifact", "app_of", "sniff", "spool"]
