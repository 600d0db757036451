"""Search over partners' resources: the text inside uploaded files, and the one
normalisation that indexing and querying share on SQLite and PostgreSQL alike."""
