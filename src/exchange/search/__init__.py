"""Search over partners' resources: the one normalisation that indexing and querying
share, the full-text index, and the search itself on SQLite and PostgreSQL alike."""
