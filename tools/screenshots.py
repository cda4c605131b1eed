"""Take the README's screenshots in Debian's Chromium.

Usage: .venv/bin/python tools/screenshots.py
Starts the app on a free loopback port, opens each page with the same text
and writes `assets/screenshot-<name>.png`: tall windows of the normal view,
and 1280x720 windows of the presentation mode scrolled to the first chart
(what a projector shows).
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
# name: (URL path, window width, window height, presentation mode)
SHOTS = {
    "predict": ("", 1400, 1100, False), "anatomy": ("anatomy", 1400, 2300, False),
    "lens": ("lens", 1400, 1300, False),
    "present-predict": ("", 1280, 720, True), "present-anatomy": ("anatomy", 1280, 720, True),
    "present-lens": ("lens", 1280, 720, True),
}
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
            for name, (path, width, height, present) in SHOTS.items():
                # Streamlit scrolls inside the window: a tall window shows more.
                page.set_viewport_size({"width": width, "height": height})
                query = {"text": TEXT, **({"present": "1"} if present else {})}
                page.goto(f"{url}/{path}?{urllib.parse.urlencode(query)}")
                page.wait_for_selector(IDLE, timeout=120_000)
                page.wait_for_selector("[data-testid=stPlotlyChart] .main-svg", timeout=120_000)
                if present:
                    page.locator("[data-testid=stPlotlyChart]").first.scroll_into_view_if_needed()
                time.sleep(2)  # let plotly finish its transitions
                page.screenshot(path=ROOT / "assets" / f"screenshot-{name}.png")
                print("wrote", f"assets/screenshot-{name}.png")
            browser.close()
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
