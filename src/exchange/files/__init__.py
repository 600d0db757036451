"""Uploaded files on their way in: names cleaned for display, content inspected as it
streams, and the multipart form parsed without spooling the body."""
