"""The extractors stage: what every extractor provides (``base``), keys in text, key search.

The file kinds themselves live in ``scanner.formats``; their order in ``scanner.registry``.
SQLite databases are read as families (``scanner.formats.sqlite``).
"""
