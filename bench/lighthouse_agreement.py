"""Agreement with Lighthouse: does each id we borrow mean what Lighthouse means by it?

Serves the test sites (tests/audits/sites: the rule pages under ``rules/``, each pinning one
rule, plus ``good/`` and ``bad/``) on loopback, runs Lighthouse and our audit on every page,
and prints, for every id both report, on how many pages both reached a verdict and how often
the verdicts agree, then every disagreement.

Verdicts: ours is *pass* for ``pass`` and *fail* for ``fail`` or ``warn``; ``info`` and
``not_checked`` decide nothing. Lighthouse's is *pass* for a binary audit scored 1 and, for
numeric audits (metrics), a score in its pass band (>= 0.9); not-applicable, manual,
informative and errored audits decide nothing. Lighthouse runs with its defaults (mobile
form factor, simulated throttling), as a user would run it.

Lighthouse 12.8 runs on Node 20 (13 needs Node 22). It is never needed by the tests; install
it once into a cache folder (``--install`` does this):

    npm install --prefix /tmp/pitchfast-lighthouse lighthouse@12.8
    .venv/bin/python bench/lighthouse_agreement.py [--lighthouse PATH] [--pages rules] [-v]

``$LIGHTHOUSE`` or ``lighthouse`` on PATH are used when ``--lighthouse`` is not given.
Chromium is Debian's (/usr/bin/chromium, passed as CHROME_PATH).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.audits.engine import AuditEngine, EngineConfig  # noqa: E402

SITES = ROOT / "tests" / "audits" / "sites"
CACHE = Path(os.environ.get("PITCHFAST_LIGHTHOUSE_DIR", "/tmp/pitchfast-lighthouse"))
LIGHTHOUSE_VERSION = "12.8"
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage "
    "--disable-background-networking --disable-component-update --disable-sync --no-first-run"
)
EXPECT_RE = re.compile(r"<!--\s*expect:\s*(.*?)-->", re.S)
#: Ids whose verdicts cannot be compared on a loopback test server, and why.
NOT_COMPARABLE_ON_LOOPBACK = {
    "is-on-https": "Lighthouse counts http://localhost and 127.0.0.1 as secure; "
    "the test server is plain HTTP on 127.0.0.1",
}


def _server_module() -> Any:
    spec = importlib.util.spec_from_file_location("audit_sites_server", SITES / "server.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expectations(path: Path) -> dict[str, str]:
    """``{check id: outcome}`` from a rule page's ``<!-- expect: id=outcome … -->``."""
    m = EXPECT_RE.search(path.read_text(encoding="utf-8"))
    if not m:
        return {}
    return dict(pair.split("=", 1) for pair in m.group(1).split())


def pages(which: str) -> list[tuple[str, dict[str, str]]]:
    """(path on the test server, expectations) for every page compared."""
    out = [(f"/rules/{p.name}", expectations(p)) for p in sorted((SITES / "rules").glob("*.html"))]
    if which == "all":
        out += [("/good/", {}), ("/bad/", {})]
    return out


def find_lighthouse(explicit: str | None, install: bool) -> str | None:
    """The Lighthouse CLI: --lighthouse, $LIGHTHOUSE, PATH, or the cache folder."""
    cached = CACHE / "node_modules" / ".bin" / "lighthouse"
    for candidate in (explicit, os.environ.get("LIGHTHOUSE"), shutil.which("lighthouse")):
        if candidate:
            return candidate
    if cached.exists():
        return str(cached)
    if install:
        print(f"installing lighthouse@{LIGHTHOUSE_VERSION} into {CACHE} …", flush=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(CACHE),
             f"lighthouse@{LIGHTHOUSE_VERSION}"],
            check=True,
        )
        return str(cached)
    return None


def run_lighthouse(exe: str, url: str, attempts: int = 2) -> dict[str, Any] | None:
    """Lighthouse's JSON report (mobile defaults) for ``url``; tried twice (a busy machine
    makes Lighthouse time out now and then), None when both runs failed."""
    for attempt in range(attempts):
        try:
            return _run_lighthouse_once(exe, url)
        except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
            print(f"  lighthouse attempt {attempt + 1} on {url} failed: {str(exc)[-200:]}")
    return None


def _run_lighthouse_once(exe: str, url: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        proc = subprocess.run(
            [exe, url, "--quiet", "--output=json", f"--output-path={out.name}",
             f"--chrome-flags={CHROME_FLAGS}",
             "--only-categories=performance,accessibility,best-practices,seo"],
            check=False, capture_output=True, timeout=240,
            env={**os.environ, "CHROME_PATH": "/usr/bin/chromium"},
        )
        report: dict[str, Any] = json.loads(out.read() or b"{}")
    if proc.returncode != 0 or report.get("runtimeError") or not report.get("audits"):
        raise RuntimeError(f"lighthouse failed on {url}: {proc.stderr[-400:]!r}")
    return report


def lighthouse_verdicts(report: dict[str, Any]) -> dict[str, str]:
    """``{audit id: pass|fail}`` for every audit Lighthouse decided."""
    out = {}
    for audit_id, audit in report["audits"].items():
        mode, score = audit.get("scoreDisplayMode"), audit.get("score")
        if score is None or mode not in ("binary", "numeric", "metricSavings"):
            continue
        if mode == "binary":
            out[audit_id] = "pass" if score == 1 else "fail"
        else:
            out[audit_id] = "pass" if score >= 0.9 else "fail"
    return out


def our_verdicts(document: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(``{id: pass|fail}`` for decided checks, ``{id: outcome}`` for all)."""
    decided, outcomes = {}, {}
    for c in document.get("checks", []):
        outcomes[c["id"]] = c["outcome"]
        if c["outcome"] == "pass":
            decided[c["id"]] = "pass"
        elif c["outcome"] in ("fail", "warn"):
            decided[c["id"]] = "fail"
    return decided, outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lighthouse", help="path to the lighthouse CLI")
    parser.add_argument("--install", action="store_true",
                        help=f"npm-install lighthouse@{LIGHTHOUSE_VERSION} into {CACHE} if absent")
    parser.add_argument("--pages", choices=("rules", "all"), default="all")
    parser.add_argument("--jobs", type=int, default=1, help="Lighthouse runs at once")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("app.audits.engine.runner").setLevel(logging.ERROR)  # allowlist notes

    exe = find_lighthouse(args.lighthouse, args.install)
    if not exe:
        print(f"Lighthouse not found: run with --install, or npm install --prefix {CACHE} "
              f"lighthouse@{LIGHTHOUSE_VERSION}")
        return 2
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    todo = pages(args.pages)
    print(f"Lighthouse {version} (node {node}) vs PitchFast on {len(todo)} local pages")

    sites = _server_module()
    with sites.SiteServer() as srv:
        engine = AuditEngine(EngineConfig(allow_targets=frozenset({srv.target}), concurrency=1))
        try:
            t = time.perf_counter()
            ours = {path: engine.audit(srv.url(path)).document for path, _ in todo}
            ours_s = time.perf_counter() - t
            t = time.perf_counter()
            with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
                reports = dict(zip(
                    [p for p, _ in todo],
                    pool.map(lambda p: run_lighthouse(exe, srv.url(p[0])), todo),
                    strict=True,
                ))
            lh_s = time.perf_counter() - t
        finally:
            engine.close()

    per_id: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    expected_misses = []
    for path, expect in todo:
        doc = ours[path]
        if reports[path] is None:
            print(f"  Lighthouse could not run on {path}: left out")
            continue
        if doc.get("status") != "ok":
            print(f"  our audit of {path} failed: {doc.get('status')} {doc.get('error')}")
            continue
        lh = lighthouse_verdicts(reports[path])
        mine, outcomes = our_verdicts(doc)
        shared = set(lh) & set(outcomes)
        for audit_id in sorted(shared - set(NOT_COMPARABLE_ON_LOOPBACK)):
            if audit_id in mine:
                per_id[audit_id].append((path, lh[audit_id], mine[audit_id]))
        for audit_id, outcome in expect.items():
            if outcomes.get(audit_id) != outcome:
                expected_misses.append((path, audit_id, outcome, outcomes.get(audit_id)))

    print(f"\nour audits: {ours_s:.1f} s in total; Lighthouse: {lh_s:.1f} s in total\n")
    print(f"{'id':32} {'pages':>5} {'agree':>5} {'agreement':>9}")
    total = agreed = 0
    disagreements = []
    for audit_id in sorted(per_id):
        rows = per_id[audit_id]
        ok = sum(1 for _, a, b in rows if a == b)
        total, agreed = total + len(rows), agreed + ok
        print(f"{audit_id:32} {len(rows):5d} {ok:5d} {100 * ok / len(rows):8.1f}%")
        disagreements += [(audit_id, p, a, b) for p, a, b in rows if a != b]
    if total:
        print(f"{'all shared ids':32} {total:5d} {agreed:5d} {100 * agreed / total:8.1f}%")
    for audit_id, why in NOT_COMPARABLE_ON_LOOPBACK.items():
        print(f"{audit_id:32} not compared: {why}")
    print(f"\ndisagreements ({len(disagreements)}):")
    for audit_id, path, lh_v, our_v in disagreements:
        print(f"  {audit_id:32} {path:45} lighthouse {lh_v:4}  ours {our_v}")
        if args.verbose:
            audit = reports[path]["audits"][audit_id]
            print(f"      lighthouse: {audit.get('displayValue') or ''} "
                  f"{json.dumps(audit.get('details', {}).get('items', [])[:2])[:300]}")
    print(f"\npages whose expectations (<!-- expect: … -->) our audit missed: "
          f"{len(expected_misses)}")
    for path, audit_id, want, got in expected_misses:
        print(f"  {path:45} {audit_id:28} expected {want}, got {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
