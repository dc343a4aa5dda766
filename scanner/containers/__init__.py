"""The containers stage: what every container provides (``base``) and decoding ahead.

The formats themselves live in ``scanner.formats``; their order in ``scanner.registry``.
"""
