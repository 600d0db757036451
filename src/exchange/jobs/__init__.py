"""Background work kept in the database: queued by requests, run by any instance."""
