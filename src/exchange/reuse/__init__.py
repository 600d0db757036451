"""Reuse beyond the receiving school: requests to the authors, grants and forwards.

What ending a partnership does to grants, forwards, `shared_with` entries and pending
requests is `exchange.reuse.partnership_end`, subscribed in `exchange.consequences`.
"""
