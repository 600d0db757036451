"""The school directory, each school's profile, and partner suggestions."""
