"""The partner-school exchange."""
