"""The portal: agencies answer from the link in their email (FastAPI + the project's Jinja2 templates)."""
