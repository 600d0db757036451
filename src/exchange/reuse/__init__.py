"""Reuse beyond the receiving school: requests to the authors, grants and forwards."""
