"""Failures of the data layer that a person can act on (each is one line at the command line)."""


class NotFound(LookupError):
    """A partnership, cycle, agency or contribution that is not there; the message says what is."""
