"""Inputs: what the user names on the command line, turned into top-level artifacts."""

from scanner.inputs.filesystem import open_input

__all__ = ["open_input"]
