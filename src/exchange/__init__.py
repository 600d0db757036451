"""The partner-school exchange."""

__version__ = "0.1.0"
