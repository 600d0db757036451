"""Questions between partner schools: one school asks, the other answers (rule 9)."""
