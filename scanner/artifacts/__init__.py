"""Artifacts: the virtual files that containers yield and extractors read."""

from scanner.artifacts.artifact import HEAD_SIZE, Artifact, Origin, sniff
from scanner.artifacts.device_paths import app_of
from scanner.artifacts.spooling import spool

__all__ = ["HEAD_SIZE", "Artifact", "Origin", "app_of", "sniff", "spool"]
