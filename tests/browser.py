"""Browser-test support: the portal on a real port, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from portal.app import create_app
from reportcycle.clock import Clock
from reportcycle.mailsink import free_port
from reportcycle.settings import Settings

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying hosts this closed network refuses.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def portal_server(settings: Settings, clock: Clock) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, clock), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.perf_counter() + 20
    while not server.started:
        if time.perf_counter() > deadline:
            raise RuntimeError("the portal did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class ScriptWatch:
    """Fails a test when a page runs script it should not: any dialog, or a call of the hook."""

    def __init__(self, page: Page) -> None:
        self.fired: list[str] = []
        page.on("dialog", self._dialog)
        page.add_init_script("window.__xss = () => { document.title = 'XSS-FIRED'; };")
        self.page = page

    def _dialog(self, dialog) -> None:  # type: ignore[no-untyped-def]
        self.fired.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def check(self) -> list[str]:
        found = list(self.fired)
        if self.page.title() == "XSS-FIRED":
            found.append("hook")
        return found
