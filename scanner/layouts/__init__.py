"""Binary layouts as declarative construct structs, one module per format, each citing its source."""
