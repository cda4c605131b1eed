"""Take the README's screenshots in Debian's Chromium.

Usage: .venv/bin/python tools/screenshots.py
Starts the app on a free loopback port, opens each page with the same text
and writes `assets/screenshot-<name>.png`.
"""

import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
PORT = 8765
TEXT = "the [MASK] barked at the [MASK] all night."
# name: (URL path, window height)
SHOTS = {"predict": ("", 1100), "anatomy": ("anatomy", 2300), "lens": ("lens", 1300)}
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


def wait_healthy(url):
    for _ in range(240):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the server did not start")


def main():
    url = f"http://127.0.0.1:{PORT}"
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(PORT)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(url)
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
        server.terminate()


if __name__ == "__main__":
    main()
