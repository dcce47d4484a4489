"""Inbound: read the monitored mailbox, tie each message to the email it answers, and act on it once."""
