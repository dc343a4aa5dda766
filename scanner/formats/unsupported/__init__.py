"""Archives and compressions keyscan recognises but cannot open."""
