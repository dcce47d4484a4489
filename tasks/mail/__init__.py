"""Email: the outbox, SMTP, building and rendering messages, calendar entries."""
