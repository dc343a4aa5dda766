"""openaes."""
