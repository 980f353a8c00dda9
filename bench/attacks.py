"""Benchmark: what attacks cost everyone else (issue "Hardening", items 1 and 2).

Starts ``pitchfast web`` (waitress, SQLite) on a scratch instance on 127.0.0.1 and prints:

1. wide CSV — a member uploads a CSV of ``--columns`` columns (refused), then the widest
   file accepted (100 columns, ``--rows`` rows), opens its mapping page and changes the
   mapping, while another user keeps loading pages and signing in: other users' p50/p95
   before and during the attack (goal: p95 within 2× of before), their 5xx count,
   "database is locked" lines in the server log, and how the attacker was answered;
2. slow connections — ``--slow`` sockets each send half a request and stall; then a normal
   page is requested: its latency (goal: under 1 s) with all of them still open.

    .venv/bin/python bench/attacks.py [--columns 200000] [--rows 5000] [--slow 500]

Traffic stays on loopback; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

PASSWORD = "attack-bench-" + secrets.token_hex(6)


class Client:
    """A browser-like client: cookies, CSRF token from forms, timing of each request."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, path: str, data: bytes | None = None, headers: dict[str, str] | None = None,
                timeout: float = 120) -> tuple[int, bytes, float]:
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        t0 = time.perf_counter()
        try:
            with self.opener.open(req, timeout=timeout) as resp:
                body = resp.read()
                return resp.status, body, time.perf_counter() - t0
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), time.perf_counter() - t0

    def csrf(self, path: str) -> str:
        _, body, _ = self.request(path)
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)
        return match.group(1).decode() if match else ""

    def post(self, path: str, fields: dict[str, str], form_path: str | None = None
             ) -> tuple[int, bytes, float]:
        fields = {"csrf_token": self.csrf(form_path or path), **fields}
        return self.request(path, urllib.parse.urlencode(fields).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def login(self, email: str) -> None:
        status, _, _ = self.post("/login", {"email": email, "password": PASSWORD})
        assert status in (200, 302), status

    def upload(self, path: str, filename: str, content: bytes) -> tuple[int, bytes, float]:
        token = self.csrf(path)
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
                f"{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{filename}\"\r\nContent-Type: text/csv\r\n\r\n").encode()
        body += content + f"\r\n--{boundary}--\r\n".encode()
        return self.request(path, body,
                            {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def start_server(inst: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    log = (inst / "web.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "web", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the web server did not start; see " + str(inst / "web.log"))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def victim_loop(base: str, email: str, stop: threading.Event, out: dict[str, list]) -> None:
    """Another user: loads pages and signs in again and again (bounded by time and count)."""
    client = Client(base)
    client.login(email)
    for i in range(2000):
        if stop.is_set():
            break
        if i % 10 == 9:
            fresh = Client(base)
            status, _, took = fresh.post("/login", {"email": email, "password": PASSWORD})
        else:
            status, _, took = client.request(("/campaigns/", "/", "/runs/")[i % 3])
        out["latency"].append(took)
        out["status"].append(status)
        time.sleep(0.02)


def wide_csv(base: str, inst: Path, columns: int, rows: int = 5000) -> None:
    """The attack file, then the widest file that is accepted (100 columns, ``rows`` rows)
    with its mapping page opened and the mapping changed a few times, while another user
    loads pages and signs in."""
    victim: dict[str, list] = {"latency": [], "status": []}
    stop = threading.Event()
    thread = threading.Thread(target=victim_loop, args=(base, "victim@example.com", stop, victim))
    thread.start()
    deadline = time.time() + 30  # a baseline of at least 40 requests (a busy machine is slow)
    while len(victim["latency"]) < 40 and time.time() < deadline:
        time.sleep(0.2)
    baseline = list(victim["latency"])
    victim["latency"].clear()
    victim["status"].clear()
    attacker = Client(base)
    attacker.login("attacker@example.com")
    header = ",".join(f"c{i}" for i in range(columns)).encode()
    row = ",".join("x" for _ in range(columns)).encode()
    content = header + b"\n" + row + b"\n"
    t0 = time.perf_counter()
    status, body, _ = attacker.upload("/campaigns/bench/leads/import", "wide.csv", content)
    took = time.perf_counter() - t0
    errors = re.findall(rb'class="[^"]*error[^"]*"[^>]*>([^<]{5,200})<', body)
    # the widest file accepted: its mapping page (urllib follows the redirect), then changes
    names = ["name", "website"] + [f"extra column {i}" for i in range(98)]
    lines = [",".join(names)] + [",".join([f"Biz {i}", f"biz{i}.example.com"] + ["v"] * 98)
                                 for i in range(rows)]
    capped = ("\n".join(lines) + "\n").encode()
    t0 = time.perf_counter()
    c_status, page, _ = attacker.upload("/campaigns/bench/leads/import", "capped.csv", capped)
    c_took = time.perf_counter() - t0
    found = re.search(rb'hx-post="([^"]+)"', page)
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
    changes = []
    if found and token:
        for i in range(5):
            fields = {"csrf_token": token.group(1).decode(), "map_business_name": str(i % 2),
                      "map_website_url": "1"}
            status_i, _, t = attacker.request(
                found.group(1).decode(), urllib.parse.urlencode(fields).encode(),
                {"Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true"})
            changes.append((status_i, t))
    stop.set()
    thread.join(60)
    locked = (inst / "web.log").read_bytes().count(b"database is locked")
    five = sum(1 for s in victim["status"] if s >= 500)
    print(f"wide CSV ({len(content) / 1e6:.1f} MB, {columns:,} columns): attacker answered "
          f"{status} in {took:.2f} s ({len(body) / 1e3:.0f} KB)")
    if errors:
        print(f"  message: {errors[0].decode(errors='replace').strip()}")
    print(f"  widest accepted file ({len(capped) / 1e6:.1f} MB, 100 columns, {rows:,} rows): "
          f"upload + mapping page {c_status} in {c_took:.2f} s ({len(page) / 1e3:.0f} KB); "
          f"5 mapping changes: {[s for s, _ in changes]} in "
          f"{', '.join(f'{t:.2f}' for _, t in changes)} s")
    p95_before, p95_during = pct(baseline, .95), pct(victim["latency"], .95)
    print(f"  other users before: p50 {pct(baseline, .5):.0f} ms, p95 {p95_before:.0f} ms "
          f"({len(baseline)} requests)")
    print(f"  other users during: p50 {pct(victim['latency'], .5):.0f} ms, "
          f"p95 {p95_during:.0f} ms ({len(victim['latency'])} requests), "
          f"{five} answered 5xx; 'database is locked' in the log: {locked}")
    print(f"  goal p95 during within 2x of before: {p95_during / p95_before:.2f}x "
          f"({'met' if p95_during <= 2 * p95_before else 'NOT met'})")


def slow_connections(base: str, port: int, count: int) -> None:
    """``count`` half-sent requests held open, then 5 normal requests timed (the server runs
    with the config's WEB_CONNECTION_LIMIT and WEB_CHANNEL_TIMEOUT, app/server.py)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 200)), hard))
    socks: list[socket.socket] = []
    opened_at = time.perf_counter()
    try:
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            socks.append(s)
    except OSError as exc:
        print(f"slow connections: could not open more than {len(socks)} sockets: {exc}")
    try:
        time.sleep(1)
        client = Client(base)
        times: list[float] = []
        statuses: list[int] = []
        for _ in range(5):
            status, _, took = client.request("/login", timeout=30)
            times.append(took)
            statuses.append(status)
        print(f"slow connections: {len(socks)} half-sent requests open for "
              f"{time.perf_counter() - opened_at:.1f} s; a normal request answered "
              f"{statuses} in median {statistics.median(times) * 1000:.0f} ms, "
              f"max {max(times) * 1000:.0f} ms (goal < 1000 ms)")
    except OSError as exc:  # URLError and timeouts included
        print(f"slow connections: with {len(socks)} half-sent requests open, a normal request "
              f"was not answered within 30 s ({exc})")
    finally:
        for s in socks:
            s.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--columns", type=int, default=200_000)
    ap.add_argument("--rows", type=int, default=5000, help="rows of the widest accepted file")
    ap.add_argument("--slow", type=int, default=500)
    args = ap.parse_args()
    inst = Path(tempfile.mkdtemp(prefix="pitchfast-bench-attacks-"))
    cfg = {"SECRET_KEY": secrets.token_hex(32),
           "DATABASE_URL": f"sqlite:///{inst / 'db.sqlite3'}"}
    (inst / "config.py").write_text("".join(f"{k} = {v!r}\n" for k, v in cfg.items()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITCHFAST_")}
    env["PITCHFAST_INSTANCE"] = str(inst)
    cli = [sys.executable, "-m", "app.cli"]
    commands = (
        ["db", "upgrade"], ["campaigns", "create", "Bench", "--slug", "bench"],
        ["users", "create", "victim@example.com", "--role", "admin", "--password", PASSWORD],
        ["users", "create", "attacker@example.com", "--password", PASSWORD],
    )
    for cmd in commands:
        subprocess.run([*cli, *cmd], env=env, check=True, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = start_server(inst, env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wide_csv(base, inst, args.columns, args.rows)
        slow_connections(base, port, args.slow)
    finally:
        server.terminate()
        server.wait(15)


if __name__ == "__main__":
    main()
