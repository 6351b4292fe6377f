"""Screenshots of the main pages for the README, taken from a running `make run`.

.venv/bin/python tools/screenshots.py [BASE_URL]
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PASSWORD = "blina-demo-2026!"  # noqa: S105 - the demo password printed by make run
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _login(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{BASE}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(f"{BASE}/accounts/login/")
        page.screenshot(path=OUT / "login.png")
        page.get_by_label("Username").fill("investigator.prague")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        page.screenshot(path=OUT / "start-investigator.png", full_page=True)
        page.goto(f"{BASE}/subjects/")
        page.screenshot(path=OUT / "subject-list.png")
        page.goto(f"{BASE}/subjects/1-01/")
        page.screenshot(path=OUT / "casebook.png", full_page=True)
        page.goto(f"{BASE}/subjects/1-01/infusion/")
        page.screenshot(path=OUT / "infusion.png", full_page=True)
        page.goto(f"{BASE}/subjects/1-01/mrd/")
        page.screenshot(path=OUT / "mrd.png", full_page=True)
        page.goto(f"{BASE}/subjects/1-01/labs/")
        page.screenshot(path=OUT / "labs.png", full_page=True)
        page.goto(f"{BASE}/alerts/")
        page.screenshot(path=OUT / "alerts.png", full_page=True)
        page.goto(f"{BASE}/subjects/enrol/")
        page.screenshot(path=OUT / "screening.png", full_page=True)
        page.goto(f"{BASE}/subjects/1-01/records/baseline/new/")
        page.screenshot(path=OUT / "record-form-queries.png", full_page=True)
        _login(page, "centrallab")
        page.screenshot(path=OUT / "start-central-lab.png", full_page=True)
        _login(page, "monitor")
        page.goto(f"{BASE}/subjects/1-01/audit-trail/")
        page.screenshot(path=OUT / "audit-trail.png")
        page.goto(f"{BASE}/queries/")
        page.screenshot(path=OUT / "queries.png", full_page=True)
        page.goto(f"{BASE}/sdv/")
        page.screenshot(path=OUT / "sdv.png", full_page=True)
        _login(page, "datamanager")
        page.goto(f"{BASE}/lab-ranges/site-1/")
        page.screenshot(path=OUT / "lab-ranges.png", full_page=True)
        page.goto(f"{BASE}/reports/")
        page.screenshot(path=OUT / "reports.png", full_page=True)
        page.goto(f"{BASE}/exports/")
        page.screenshot(path=OUT / "exports.png")
        browser.close()
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
