"""Deterministic builder of realistic, small sample inputs (no binaries are committed).

``python -m corpus DEST`` writes every sample below DEST; tests build what they need into
a temporary folder. Each module under ``corpus/samples`` builds one family of inputs and
exposes the facts the tests assert (the keys it planted, where, and what must be chosen).
"""
