"""The storefront's quality figures: Lighthouse scores and the phone's Largest Contentful Paint.

The demo retailer is loaded into a fresh SQLite file and served by one Uvicorn process on loopback
(as ``make demo`` serves it, with the demo's web write key so the pages' tracking runs). Then:

* **Lighthouse 12** (``npx --yes lighthouse@12``, run against Debian's Chromium with
  ``CHROME_PATH``) on the home page, a product page and a search, beside the baseline: the
  shop's frame around a few lines (the offline page), measured in the same run: performance,
  accessibility, best practices and SEO, with Lighthouse's default mobile emulation (a mid-range
  phone on a throttled 4G link, simulated) — the strictest of its presets;
* **LCP on a phone viewport** (390×844, device scale 2) through Playwright: the browser's own
  ``largest-contentful-paint`` entries, unthrottled on loopback, the median of 5 cold loads per
  page (a new browser context each time, so no cache and no service worker).

``python -m bench --only storefront``; results in ``bench/results/storefront.json``. Without
``npx`` (Node.js) or when Lighthouse cannot be fetched, the Lighthouse part is skipped with a
message and the LCP part still runs.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from bench.availability import _free_port, _machine, _wait_ready

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CHROMIUM = os.environ.get("PARCOURS_CHROMIUM", "/usr/bin/chromium")
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync --no-first-run"
)
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
LCP_RUNS = 5
LIGHTHOUSE = "lighthouse@12"


def _prepare(url: str) -> tuple[str, str]:
    """The demo in a fresh database; returns (web write key, a product slug)."""
    from sqlalchemy import select

    from parcours.catalog.models import Product
    from parcours.core.db import Database
    from parcours.core.migrate import upgrade_database
    from parcours.core.settings import Settings
    from parcours.core.uow import UnitOfWork
    from parcours.demo.loader import load_demo
    from parcours.models import Base

    upgrade_database(url)
    db = Database.from_url(url)
    try:
        Base.metadata.create_all(db.engine, checkfirst=True)
    finally:
        db.dispose()
    loaded = load_demo(Settings(database_url=url), issue_keys=True)
    db = Database.from_url(url)
    try:
        with UnitOfWork(db, read_only=True) as uow:
            slugs = list(
                uow.session.scalars(
                    select(Product.slug).where(Product.status == "published").order_by(Product.slug)
                )
            )
    finally:
        db.dispose()
    preferred = "pantalon-chino-noir"
    return loaded.write_key, preferred if preferred in slugs else slugs[0]


@contextmanager
def _server(port: int, env: dict[str, str]) -> Any:
    command = [sys.executable, "-m", "uvicorn", "parcours.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    command += ["--no-access-log", "--loop", "uvloop", "--http", "httptools"]
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)
    try:
        yield
    finally:
        process.terminate()
        process.wait(10)


def lighthouse_available() -> str | None:
    """Why Lighthouse cannot run here, or None."""
    if shutil.which("npx") is None:
        return "npx (Node.js) is not installed: apt-get install -y nodejs npm"
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM}"
    return None


def _lighthouse(url: str, directory: Path, name: str, *, preset: str | None) -> dict[str, Any]:
    output = directory / f"{name}.json"
    command = ["npx", "--yes", LIGHTHOUSE, url, "--output=json", f"--output-path={output}"]
    command += ["--quiet", f"--chrome-flags={CHROME_FLAGS}"]
    command += [f"--only-categories={','.join(CATEGORIES)}"]
    if preset:
        command.append(f"--preset={preset}")
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or not output.exists():
        raise RuntimeError(f"lighthouse failed on {url}: {done.stderr.strip()[-500:]}")
    report = json.loads(output.read_text())
    audits = report["audits"]
    failing = sorted(
        audit_id
        for category in CATEGORIES
        for ref in report["categories"][category]["auditRefs"]
        if ref["weight"] > 0
        and (audit_id := ref["id"]) in audits
        and audits[audit_id].get("score") is not None
        and audits[audit_id]["score"] < 0.9
    )
    return {
        "scores": {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES},
        "lcp_ms": round(audits["largest-contentful-paint"]["numericValue"]),
        "fcp_ms": round(audits["first-contentful-paint"]["numericValue"]),
        "tbt_ms": round(audits["total-blocking-time"]["numericValue"]),
        "cls": round(audits["cumulative-layout-shift"]["numericValue"], 3),
        "failing_audits": failing,
        "lighthouse": report.get("lighthouseVersion"),
    }


_LCP_SCRIPT = """
window.__lcp = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__lcp = entry.startTime;
}).observe({ type: "largest-contentful-paint", buffered: true });
"""


def _phone_lcp(urls: dict[str, str]) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    results: dict[str, Any] = {}
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            for name, url in urls.items():
                samples, fcps = [], []
                for _ in range(LCP_RUNS):
                    context = browser.new_context(
                        viewport={"width": 390, "height": 844},
                        device_scale_factor=2,
                        is_mobile=True,
                        has_touch=True,
                        locale="fr-FR",
                        service_workers="block",
                    )
                    page = context.new_page()
                    page.add_init_script(_LCP_SCRIPT)
                    page.goto(url, wait_until="load")
                    page.wait_for_timeout(300)
                    samples.append(float(page.evaluate("window.__lcp")))
                    fcps.append(
                        float(
                            page.evaluate(
                                "performance.getEntriesByName('first-contentful-paint')[0]"
                                "?.startTime || 0"
                            )
                        )
                    )
                    context.close()
                results[name] = {
                    "lcp_median_ms": round(statistics.median(samples)),
                    "lcp_max_ms": round(max(samples)),
                    "fcp_median_ms": round(statistics.median(fcps)),
                    "runs": LCP_RUNS,
                }
        finally:
            browser.close()
    return results


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="parcours-bench-storefront-") as tmp:
        directory = Path(tmp)
        url = f"sqlite:///{directory / 'storefront.db'}"
        print("storefront: loading the demo retailer…", flush=True)
        write_key, slug = _prepare(url)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        pages = {
            # The baseline: the shop's frame (header, CSS, the shell module, the consent banner)
            # around a few lines of text, served by the same process in the same run.
            "baseline": f"{base}/hors-ligne",
            "home": f"{base}/",
            "product": f"{base}/produits/{slug}",
            "search": f"{base}/recherche?q=pantalon+noir",
        }
        env = {
            "PARCOURS_DATABASE_URL": url,
            "PARCOURS_WEB_WRITE_KEY": write_key,
            "PARCOURS_RELAY_IN_PROCESS": "false",
            "PARCOURS_LOG_LEVEL": "WARNING",
        }
        result: dict[str, Any] = {
            "date": date.today().isoformat(),
            "machine": _machine(),
            "pages": {name: u.replace(base, "") for name, u in pages.items()},
        }
        with _server(port, env):
            _wait_ready(f"{base}/")
            for page_url in pages.values():  # warm the server (templates, first queries)
                _wait_ready(page_url)
            why_not = lighthouse_available()
            if why_not:
                print(f"storefront: Lighthouse skipped: {why_not}", flush=True)
                result["lighthouse"] = {"skipped": why_not}
            else:
                result["lighthouse"] = {}
                for preset, label in ((None, "mobile"), ("desktop", "desktop")):
                    for name, page_url in pages.items():
                        print(f"storefront: Lighthouse ({label}) {name}…", flush=True)
                        try:
                            found = _lighthouse(
                                page_url, directory, f"{label}-{name}", preset=preset
                            )
                        except (RuntimeError, subprocess.TimeoutExpired) as exc:
                            print(f"storefront: Lighthouse skipped: {exc}", flush=True)
                            result["lighthouse"] = {"skipped": str(exc)}
                            break
                        result["lighthouse"].setdefault(label, {})[name] = found
                    if "skipped" in result["lighthouse"]:
                        break
            print("storefront: LCP on a phone viewport (Playwright)…", flush=True)
            result["phone_lcp"] = _phone_lcp(pages)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "storefront.json").write_text(json.dumps(result, indent=2) + "\n")
    _print(result)
    return result


def _print(result: dict[str, Any]) -> None:
    lighthouse = result.get("lighthouse", {})
    if "skipped" not in lighthouse:
        for label, pages in lighthouse.items():
            print(f"\nLighthouse {label} (performance / accessibility / best practices / SEO):")
            for name, found in pages.items():
                s = found["scores"]
                print(
                    f"  {name:8} {s['performance']:3} / {s['accessibility']:3} / "
                    f"{s['best-practices']:3} / {s['seo']:3}   LCP {found['lcp_ms']} ms, "
                    f"TBT {found['tbt_ms']} ms, CLS {found['cls']}"
                    + (
                        f"   below 0.9: {', '.join(found['failing_audits'])}"
                        if found["failing_audits"]
                        else ""
                    )
                )
    print("\nLCP on a phone viewport (loopback, no throttling, median of 5):")
    for name, found in result["phone_lcp"].items():
        print(
            f"  {name:8} LCP {found['lcp_median_ms']} ms (max {found['lcp_max_ms']}), "
            f"FCP {found['fcp_median_ms']} ms"
        )
