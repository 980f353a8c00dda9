"""Audit benchmark: our full audit vs the bare floor (and Lighthouse when installed).

Serves realistic pages on loopback (light, heavy, redirecting, many faults) and prints per
page and in total: full-audit wall time (both form factors, all checks incl. axe,
screenshots written to disk), the floor (bare Playwright load + full-page PNG at desktop
dsf 1 and mobile dsf 2, sequential), Lighthouse mobile+desktop if the CLI exists, audits/min
at concurrency 1, 2 and 4, and peak memory (this process + Playwright driver + Chromium).

    .venv/bin/python bench/audit.py [--reps 2] [--n 12]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402
from playwright.async_api import async_playwright  # noqa: E402

from app.audits.cli import write_screenshots  # noqa: E402
from app.audits.engine import AuditEngine, EngineConfig  # noqa: E402

SITES = ROOT / "tests" / "audits" / "sites"
PAGES = {"light": "/good/", "heavy": "/heavy/", "redirecting": "/redirect/2", "faults": "/bad/"}


def build_docroot() -> str:
    """good/ and bad/ fixtures plus a generated heavy page (images, scripts, big DOM)."""
    root = tempfile.mkdtemp(prefix="pf-bench-")
    for name in ("good", "bad"):
        shutil.copytree(SITES / name, Path(root, name))
    heavy = Path(root, "heavy")
    heavy.mkdir()
    for i in range(6):
        im = Image.new("RGB", (1600, 1000), (40 * i, 120, 200 - 20 * i))
        draw = ImageDraw.Draw(im)
        for k in range(60):
            draw.ellipse(
                (k * 25, k * 15, k * 25 + 300, k * 15 + 200), outline=(255, k * 4, 0), width=6
            )
        im.save(heavy / f"img{i}.jpg", quality=88)
    for i in range(12):
        body = "\n".join(f"function f{i}_{k}(a){{return a*{k}+{i};}}" for k in range(2000))
        (heavy / f"lib{i}.js").write_text(body + f"\nwindow.lib{i}=f{i}_1(2);")
    (heavy / "site.css").write_text(
        "\n".join(f".c{k}{{margin:{k % 7}px;color:#{k % 999:03d}}}" for k in range(4000))
    )
    imgs = "".join(
        f'<img src="img{i % 6}.jpg?n={i}" alt="Photo {i}" width="400" height="250">'
        for i in range(40)
    )
    scripts = "".join(f'<script src="lib{i}.js"></script>' for i in range(12))
    cards = "".join(
        f'<div class="c{k}" style="display:inline-block;width:300px;vertical-align:top">'
        f"<h3>Service {k}</h3><p>Quality work number {k} for local customers.</p>"
        f'<a href="/s/{k}">Details of service {k}</a></div>'
        for k in range(200)
    )
    (heavy / "index.html").write_text(
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport "
        "content='width=device-width'><title>Heavy Builders — Springfield contractors</title>"
        f"<link rel=stylesheet href=site.css>{scripts}</head><body><h1>Heavy Builders</h1>"
        f"<a href='tel:+15550100'>Call us</a>{imgs}{cards}</body></html>"
    )
    return root


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static docroot plus /redirect/N chains."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
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


# ---------------------------------------------------------------- memory sampling


def _tree() -> list[int]:
    """PIDs descending from this process (Playwright driver, Chromium and its children)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    me, out = os.getpid(), []
    for pid in parents:
        p, hops = pid, 0
        while p in parents and p != me and hops < 50:
            p, hops = parents[p], hops + 1
        if p == me and pid != me:
            out.append(pid)
    return out


def _tree_rss_mb() -> float:
    """Proportional set size (shared pages split between processes) of the whole tree, MB."""
    total = 0
    for pid in [os.getpid(), *_tree()]:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return total / 1e6


def tree_cpu() -> float:
    """CPU seconds used by this process, reaped children and live descendants."""
    t = os.times()
    total = t.user + t.system + t.children_user + t.children_system
    tick = os.sysconf("SC_CLK_TCK")
    for pid in _tree():
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in f[11:15]) / tick
        except (OSError, IndexError, ValueError):
            continue
    return total


class MemorySampler:
    """Peak RSS of this process tree, sampled every 100 ms."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss_mb())
            self._stop.wait(0.1)

    def __enter__(self) -> MemorySampler:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


# ---------------------------------------------------------------- floor and lighthouse


async def floor_times(
    urls: list[str], concurrency: int = 1, cpus: list[float] | None = None
) -> tuple[list[float], float]:
    """Bare Playwright: load + full-page PNG, desktop (dsf 1) then mobile (dsf 2)."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        sem = asyncio.Semaphore(concurrency)

        async def one(url: str) -> float:
            async with sem:
                t, c = time.perf_counter(), tree_cpu()
                for opts in (
                    {"viewport": {"width": 1366, "height": 768}},
                    {
                        "viewport": {"width": 390, "height": 844},
                        "is_mobile": True,
                        "has_touch": True,
                        "device_scale_factor": 2,
                    },
                ):
                    ctx = await browser.new_context(**opts)
                    page = await ctx.new_page()
                    await page.goto(url, timeout=180_000)
                    await page.screenshot(full_page=True, timeout=180_000)
                    await ctx.close()
                if cpus is not None:
                    cpus.append(tree_cpu() - c)
                return time.perf_counter() - t

        start = time.perf_counter()
        times = await asyncio.gather(*(one(u) for u in urls))
        wall = time.perf_counter() - start
        await browser.close()
    return list(times), wall


LIGHTHOUSE_CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage "
    "--disable-background-networking --disable-component-update --disable-sync --no-first-run"
)


def lighthouse_time(url: str) -> float | None:
    """Seconds for Lighthouse's mobile + desktop runs on ``url``; None if it is not installed
    (``npm install lighthouse@12``; put it on PATH or set LIGHTHOUSE=path)."""
    exe = os.environ.get("LIGHTHOUSE") or shutil.which("lighthouse")
    if not exe:
        return None
    t = time.perf_counter()
    for preset in ("--form-factor=mobile", "--preset=desktop"):
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            proc = subprocess.run(
                [exe, url, preset, "--quiet", "--output=json", f"--output-path={out.name}",
                 f"--chrome-flags={LIGHTHOUSE_CHROME_FLAGS}"],
                check=False, capture_output=True,
                env={**os.environ, "CHROME_PATH": "/usr/bin/chromium"},
            )
            report = json.loads(out.read() or b"{}")
        if proc.returncode != 0 or report.get("runtimeError"):
            raise RuntimeError(f"lighthouse failed on {url}: {proc.stderr[-300:]!r}")
    return time.perf_counter() - t


# ---------------------------------------------------------------- main


def cpu_of(fn, *args):
    """(result, CPU seconds of the process tree) for one call."""
    before = tree_cpu()
    res = fn(*args)
    return res, tree_cpu() - before


def audit_once(engine: AuditEngine, url: str, out: str) -> float:
    t = time.perf_counter()
    result = engine.audit(url)
    if result.ok:
        write_screenshots(result, out)
    else:
        print(f"  ! {url}: {result.status} {result.document['error']}")
    return time.perf_counter() - t


def throughput(engine: AuditEngine, urls: list[str], conc: int, out: str) -> tuple[float, float]:
    with MemorySampler() as mem, ThreadPoolExecutor(conc) as pool:
        t = time.perf_counter()
        list(pool.map(lambda u: audit_once(engine, u, out), urls))
        wall = time.perf_counter() - t
    return len(urls) / wall * 60, mem.peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--n", type=int, default=12, help="audits per throughput run")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    httpd = serve(build_docroot())
    base = f"http://127.0.0.1:{httpd.server_port}"
    out = tempfile.mkdtemp(prefix="pf-bench-out-")
    engine = AuditEngine(
        EngineConfig(allow_targets=frozenset({f"127.0.0.1:{httpd.server_port}"}), concurrency=4)
    )
    audit_once(engine, base + "/good/", out)  # warm-up: browser launch
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores; others' work inflates wall)")
    print(
        f"{'page':12} {'audit s':>8} {'floor s':>8} {'ratio':>6} {'audit cpu':>10} "
        f"{'floor cpu':>10} {'cpu ratio':>9} {'lighthouse s':>13}"
    )
    tot = dict.fromkeys(("audit", "floor", "acpu", "fcpu", "lh"), 0.0)
    for name, path in PAGES.items():
        url = base + path
        runs = [cpu_of(audit_once, engine, url, out) for _ in range(args.reps)]
        ours, acpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        fcpus: list[float] = []
        floor = statistics.median(asyncio.run(floor_times([url] * args.reps, 1, fcpus))[0])
        fcpu = statistics.median(fcpus)
        lh = lighthouse_time(url)
        for key, val in (
            ("audit", ours),
            ("floor", floor),
            ("acpu", acpu),
            ("fcpu", fcpu),
            ("lh", lh or 0),
        ):
            tot[key] += val
        lh_text = f"{lh:13.2f}" if lh else "not installed"
        print(
            f"{name:12} {ours:8.2f} {floor:8.2f} {ours / floor:6.2f} {acpu:10.2f} "
            f"{fcpu:10.2f} {acpu / fcpu:9.2f} {lh_text:>13}"
        )
    lh_total = f"{tot['lh']:13.2f}" if tot["lh"] else "not installed"
    print(
        f"{'TOTAL':12} {tot['audit']:8.2f} {tot['floor']:8.2f} {tot['audit'] / tot['floor']:6.2f} "
        f"{tot['acpu']:10.2f} {tot['fcpu']:10.2f} {tot['acpu'] / tot['fcpu']:9.2f} {lh_total:>13}"
    )
    if not tot["lh"]:
        print(
            "lighthouse: not installed (issue's reference on this class of machine: ~28 s "
            f"per page for mobile + desktop → 7× goal = {28 / 7:.1f} s per audit)"
        )
    print(
        f"CPU-bound ceiling on 2 idle cores: {120 / (tot['acpu'] / len(PAGES)):.1f} audits/min "
        f"(ours), {120 / (tot['fcpu'] / len(PAGES)):.1f} pages/min (floor)"
    )
    urls = [base + p for p in PAGES.values()] * (args.n // len(PAGES))
    for conc in (1, 2, 4):
        (rate, peak), cpu = cpu_of(throughput, engine, urls, conc, out)
        print(
            f"concurrency {conc}: {rate:5.1f} audits/min, {cpu / len(urls):.2f} CPU-s/audit, "
            f"peak memory (PSS, worker + Chromium) {peak:6.0f} MB, "
            f"load average {os.getloadavg()[0]:.1f}"
        )
    for conc in (1, 2):
        times, wall = asyncio.run(floor_times(urls, conc))
        print(f"floor concurrency {conc}: {len(urls) / wall * 60:5.1f} pages/min")
    engine.close()
    httpd.shutdown()
    print(f"screenshots written under {out}; idle PSS now {_tree_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
