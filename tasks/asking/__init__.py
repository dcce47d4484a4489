"""Asking and chasing: opening a cycle, the chase ladder's sends, digests, deadline notices, the plan."""
