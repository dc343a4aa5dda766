"""Sample families, one module each; see corpus/build.py."""
