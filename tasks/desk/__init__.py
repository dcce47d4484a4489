"""The business manager's desk: extensions, excusals, links and contacts, central sections."""
