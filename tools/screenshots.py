"""Take the README's screenshots in Debian's Chromium.

Usage: .venv/bin/python tools/screenshots.py
Starts the app on a free loopback port, opens each page with the same text
and writes `assets/screenshot-<name>.png`.
"""

import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools.appserver import free_port, start_server, stop_server, wait_healthy  # noqa: E402

TEXT = "the [MASK] barked at the [MASK] all night."
# name: (URL path, window height)
SHOTS = {"predict": ("", 1100), "anatomy": ("anatomy", 2300), "lens": ("lens", 1300)}
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


def main():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(port, subprocess.DEVNULL)
    try:
        wait_healthy(url, server)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            for name, (path, height) in SHOTS.items():
                # Streamlit scrolls inside the window: a tall window shows more.
                page.set_viewport_size({"width": 1400, "height": height})
                page.goto(f"{url}/{path}?{urllib.parse.urlencode({'text': TEXT})}")
                page.wait_for_selector(IDLE, timeout=120_000)
                page.wait_for_selector("[data-testid=stPlotlyChart] .main-svg", timeout=120_000)
                time.sleep(2)  # let plotly finish its transitions
                page.screenshot(path=ROOT / "assets" / f"screenshot-{name}.png")
                print("wrote", f"assets/screenshot-{name}.png")
            browser.close()
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
