"""keyscan: find wearable pairing keys in phone backups, exports and logs, offline.

The pipeline, one sub-package per stage:
inputs -> containers (open / decrypt / walk) -> artifacts (files) -> extractors
(candidates) -> ranking -> reports. ``scanner.pipeline`` drives it.
"""

__version__ = "0.1.0"

from scanner.no_subprocess import answer_pycryptodome_architecture_question

# Before anything imports pyzipper (and with it pycryptodome's first library load).
answer_pycryptodome_architecture_question()
