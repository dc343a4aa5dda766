"""``python -m scanner`` is the same as the ``keyscan`` command."""

from scanner.cli import main

main()
