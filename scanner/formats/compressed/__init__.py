"""compressed."""
