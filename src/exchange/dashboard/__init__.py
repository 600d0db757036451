"""The member's dashboard: what needs an answer, what waits for one, what is new."""
