"""E-mail: notices also reach people who are not looking at the exchange, when an SMTP
server is configured (`EXCHANGE_SMTP_URL`)."""
