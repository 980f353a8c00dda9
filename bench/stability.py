"""Stability benchmark: the same unchanged site audited alone and inside busy batches.

One local site (served on loopback, never changed) is audited ``--alone`` times one after
the other, then ``--batches`` times inside a batch of ``--batch-size`` concurrent audits
(the others: heavy, faulty and redirecting pages), on one engine with ``--concurrency``
audits at once, as a worker runs them. Printed:

- every category score of every run, and its spread (max - min): goal <= 2 points;
- every finding whose outcome flipped between runs (with the measured values for metric
  findings): goal 0;
- what "what changed" (``app.audits.engine.diff``) reports between consecutive runs of the
  unchanged site: goal nothing new and nothing fixed;
- the server response time samples (median and spread) of each run.

    .venv/bin/python bench/stability.py [--target faults|light|heavy|all] [--alone 5]
        [--batches 5] [--batch-size 8] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import importlib.util
import logging
import shutil
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.audits.engine import (  # noqa: E402
    AuditEngine,
    AuditResult,
    EngineConfig,
    diff,  # noqa: E402
)
from app.audits.engine.scoring import CATEGORIES  # noqa: E402

TARGETS = {"faults": "/bad/", "light": "/good/", "heavy": "/heavy/"}
FILLERS = ("/heavy/", "/bad/", "/redirect/2", "/good/", "/heavy/?b", "/bad/?b", "/good/?b")


def _docroot() -> str:
    """bench/audit.py's pages (good, bad and the generated heavy page)."""
    spec = importlib.util.spec_from_file_location("bench_audit", ROOT / "bench" / "audit.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    root: str = mod.build_docroot()
    return root


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static docroot plus /redirect/N chains; cache headers on static files."""

    def log_message(self, *args: Any) -> None:
        pass

    def end_headers(self) -> None:
        if self.path.split("?")[0].endswith((".css", ".js", ".png", ".jpg")):
            self.send_header("Cache-Control", "public, max-age=86400")
        super().end_headers()

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        if self.path.startswith("/redirect/"):
            n = int(self.path.rsplit("/", 1)[1])
            self.send_response(301)
            self.send_header("Location", "/good/" if n <= 0 else f"/redirect/{n - 1}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()


def serve(root: str) -> http.server.ThreadingHTTPServer:
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=root)
    )
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def _outcomes(result: AuditResult) -> dict[str, str]:
    return {c["id"]: c["outcome"] for c in result.document.get("checks") or []}


def _value(result: AuditResult, check_id: str) -> str:
    for c in result.document.get("checks") or []:
        if c["id"] == check_id:
            metric = (c.get("evidence") or {}).get("metric")
            if isinstance(metric, dict) and metric.get("value") is not None:
                return f"{metric['value']}{metric.get('unit', '')}"
            values = (c.get("evidence") or {}).get("values")
            if isinstance(values, dict):
                return "/".join(f"{v}" for v in values.values())
    return ""


def _srt(result: AuditResult) -> str:
    srt = result.document.get("server_response_time") or {}
    if not srt.get("samples_ms"):
        return "—"
    return f"{srt['median_ms']} ms (spread {srt['spread_ms']} ms)"


def run_target(engine: AuditEngine, base: str, path: str, args: argparse.Namespace) -> bool:
    url = base + path
    runs: list[tuple[str, AuditResult]] = []
    engine.audit(url)  # warm-up: browser launch and caches are not what we measure
    for i in range(args.alone):
        t = time.perf_counter()
        result = engine.audit(url)
        runs.append((f"alone {i + 1}", result))
        print(f"  alone {i + 1}: {result.status} in {time.perf_counter() - t:.1f} s")
    for b in range(args.batches):
        others = [base + FILLERS[k % len(FILLERS)] for k in range(args.batch_size - 1)]
        pos = b % args.batch_size
        urls = others[:pos] + [url] + others[pos:]
        t = time.perf_counter()
        with ThreadPoolExecutor(len(urls)) as pool:
            results = list(pool.map(engine.audit, urls))
        runs.append((f"batch {b + 1}", results[pos]))
        statuses = Counter(r.status for r in results)
        print(f"  batch {b + 1}: target {results[pos].status}, batch {dict(statuses)} "
              f"in {time.perf_counter() - t:.1f} s")
    bad = [name for name, r in runs if not r.ok]
    if bad:
        print(f"  runs that did not finish: {bad}")
        return False
    # Scores and their spread.
    print(f"\n  {'category':14}" + "".join(f"{n:>9}" for n, _ in runs) + "   spread")
    worst = 0
    for cat in (*CATEGORIES, "overall", "opportunity"):
        values = [r.document["scores"].get(cat) for _, r in runs]
        nums = [v for v in values if isinstance(v, int | float)]
        spread = (max(nums) - min(nums)) if nums else 0
        if cat != "opportunity":
            worst = max(worst, spread)
        print(f"  {cat:14}" + "".join(f"{'—' if v is None else v:>9}" for v in values)
              + f"   {spread}")
    # Findings that flipped.
    outcomes = [_outcomes(r) for _, r in runs]
    ids = sorted(set().union(*outcomes))
    flipped = [cid for cid in ids if len({o.get(cid) for o in outcomes}) > 1]
    print(f"\n  flipped findings: {len(flipped)}")
    for cid in flipped:
        seq = ", ".join(
            f"{o.get(cid)}" + (f" ({_value(r, cid)})" if _value(r, cid) else "")
            for o, (_, r) in zip(outcomes, runs, strict=True)
        )
        print(f"    {cid}: {seq}")
    # What "what changed" says between consecutive audits of the unchanged site.
    reported = []
    for (n0, r0), (n1, r1) in zip(runs, runs[1:], strict=False):
        ch = diff.compare(r0.document["checks"], r1.document["checks"], previous_id=1)
        if ch.new or ch.fixed:
            reported.append(
                f"{n0} -> {n1}: new {[c.title for c in ch.new]}, "
                f"fixed {[c.title for c in ch.fixed]}"
            )
    print(f"  re-audits reporting something new or fixed: {len(reported)} of {len(runs) - 1}")
    for line in reported:
        print(f"    {line}")
    print("  server response time: " + "; ".join(f"{n} {_srt(r)}" for n, r in runs))
    totals = [r.document["timings"].get("total", 0) for _, r in runs]
    print(f"  audit time: median {statistics.median(totals) / 1000:.1f} s, "
          f"max {max(totals) / 1000:.1f} s")
    met = worst <= 2 and not flipped and not reported
    print(f"  goal (spread <= 2 per category, 0 flipped, nothing new/fixed): "
          f"{'MET' if met else 'NOT MET'} (largest spread {worst})")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", choices=[*TARGETS, "all"], default="faults")
    parser.add_argument("--alone", type=int, default=5)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    root = _docroot()
    httpd = serve(root)
    base = f"http://127.0.0.1:{httpd.server_port}"
    engine = AuditEngine(EngineConfig(
        allow_targets=frozenset({f"127.0.0.1:{httpd.server_port}"}),
        concurrency=args.concurrency))
    targets = list(TARGETS) if args.target == "all" else [args.target]
    results = {}
    try:
        for name in targets:
            print(f"\n== {name} ({TARGETS[name]}): {args.alone} alone, {args.batches} in batches "
                  f"of {args.batch_size} (concurrency {args.concurrency})")
            results[name] = run_target(engine, base, TARGETS[name], args)
    finally:
        engine.close()
        httpd.shutdown()
        shutil.rmtree(root, ignore_errors=True)
    print("\nsummary: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in results.items()))


if __name__ == "__main__":
    main()
