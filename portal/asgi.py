"""The portal as an ASGI app for any server: `uvicorn portal.asgi:app` (settings from the environment)."""

from portal.app import create_app, log_requests

log_requests()
app = create_app()
