"""The in-app inbox: what happened that a member should act on or know about."""
