"""Schools that are not on the exchange yet: the handbook's lists as directory entries,
invitations by e-mail, claims of an entry, and registering through a one-time link."""
