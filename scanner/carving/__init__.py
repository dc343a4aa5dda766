"""carving."""
