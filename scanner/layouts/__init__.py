"""Binary layouts as declarative construct structs: one module per format, citing its source."""
