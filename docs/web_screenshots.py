"""Screenshots of the web demo's tabs for the README (docs/web_*.png), taken with Playwright.

    python docs/web_screenshots.py runs/demo [--vae-gan RUN] [--photo PHOTO] [--out docs]

Serves RUN with ``shapespace serve`` and photographs its Sample, Interpolate and About tabs
at 1100 x 800 pixels; the Reconstruct tab is taken of ``--vae-gan`` (a 3D-VAE-GAN) with
``--photo`` uploaded, or of RUN when it is one. Needs Playwright for Python and Debian's
``chromium`` (``make test`` installs both where it can).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

VIEWPORT = {"width": 1100, "height": 800}
BROWSER_ARGS = ["--enable-unsafe-swiftshader", "--use-angle=swiftshader"]  # WebGL without a GPU
SETTLE_SECONDS = 4  # the 3D view draws a moment after its file arrives


@contextlib.contextmanager
def served(model: Path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "shapespace", "serve", str(model), "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if process.poll() is not None:
                raise SystemExit(f"shapespace serve {model} exited with {process.returncode}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(url, timeout=2):
                    break
            time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def shoot(browser, url: str, out: Path, tabs: list[str], photo: Path | None) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(120_000)
    page.goto(url)
    for tab in tabs:
        page.get_by_role("tab", name=tab.capitalize()).click()
        if tab in ("sample", "interpolate"):
            page.locator(f"#{tab}-status").filter(has_text="triangles").wait_for()
        if tab == "reconstruct" and photo is not None:
            page.locator("#reconstruct-photo input[type=file]").set_input_files(str(photo))
            page.locator("#reconstruct-status").filter(has_text="triangles").wait_for()
        time.sleep(SETTLE_SECONDS)
        page.screenshot(path=str(out / f"web_{tab}.png"))
        print(out / f"web_{tab}.png")
    page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="run, model or demo folder to serve")
    parser.add_argument("--vae-gan", type=Path, help="a 3D-VAE-GAN for the Reconstruct tab (default: RUN)")
    parser.add_argument("--photo", type=Path, help="the photo to reconstruct")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent, help="folder of the PNG files (default docs/)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no chromium on PATH (Debian: apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        with served(args.run) as url:
            tabs = ["sample", "interpolate", "about"] + ([] if args.vae_gan else ["reconstruct"])
            shoot(browser, url, args.out, tabs, args.photo)
        if args.vae_gan:
            with served(args.vae_gan) as url:
                shoot(browser, url, args.out, ["reconstruct"], args.photo)
        browser.close()


if __name__ == "__main__":
    main()
