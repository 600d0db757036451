"""Reuse beyond the receiving school: requests to the authors, grants and forwards.

Importing the package registers what ending a partnership does to reuse requests.
"""

from exchange.reuse import closing as closing
