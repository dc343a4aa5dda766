"""keyscan: find wearable pairing keys in phone backups, exports and logs, offline.

The pipeline, one sub-package per stage:
inputs -> containers (open / decrypt / walk) -> artifacts (files) -> extractors
(candidates) -> ranking -> reports. ``scanner.pipeline`` drives it.
"""

__version__ = "0.1.0"
