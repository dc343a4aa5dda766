"""Developer tools run by hand (not installed): ``python tools/mutate.py``."""
