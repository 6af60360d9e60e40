"""Application package of the HTTP service."""
