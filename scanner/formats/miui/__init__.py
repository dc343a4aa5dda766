"""miui."""
