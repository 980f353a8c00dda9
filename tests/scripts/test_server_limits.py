"""The real servers under attack (issue 7, items 2 and 4), as real processes on loopback.

* ``pitchfast web`` keeps answering while hundreds of half-sent requests stay open (with
  waitress' defaults, 100 of them locked everyone out for 120 s), and past 1024 descriptors
  (``select()`` cannot watch those; waitress' ``poll()`` loop can);
* ``pitchfast run`` killed with SIGKILL takes its web and worker with it, and a second start
  on a busy port says what holds it, before starting anything.
"""

from __future__ import annotations

import http.server
import os
import resource
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PITCHFAST = [sys.executable, "-m", "app.cli"]
REPO = Path(__file__).resolve().parents[2]


def _env(instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITCHFAST_")}
    env.update({"PITCHFAST_INSTANCE": str(instance), "PYTHONUNBUFFERED": "1", **extra})
    return env


def _instance(tmp_path: Path, name: str = "inst", migrate: bool = True) -> Path:
    inst = tmp_path / name
    inst.mkdir()
    (inst / "config.py").write_text(f"SECRET_KEY = {secrets.token_hex(32)!r}\n")
    if migrate:
        subprocess.run([*PITCHFAST, "db", "upgrade"], env=_env(inst), cwd=REPO, check=True,
                       capture_output=True, timeout=120)
    return inst


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_answers(port: int, proc: subprocess.Popen[bytes], log: Path,
                        seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"no answer on port {port}: {log.read_text()}")


def _start(args: list[str], inst: Path, log: Path, **env: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([*PITCHFAST, *args], env=_env(inst, **env), cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)


def _half_sent(port: int, count: int) -> list[socket.socket]:
    """``count`` connections, each having sent half a request's headers, then nothing."""
    socks = []
    try:
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            socks.append(s)
    except BaseException:
        for s in socks:
            s.close()
        raise
    return socks


def _answered(port: int) -> int:
    """A normal request's status; the timeout only bounds the test (no timing promise)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=20) as resp:
        resp.read()
        return int(resp.status)


def test_half_sent_requests_leave_the_web_server_answering(tmp_path):
    inst = _instance(tmp_path)
    port, log = _free_port(), tmp_path / "web.log"
    web = _start(["web", "--port", str(port)], inst, log)
    socks: list[socket.socket] = []
    try:
        _wait_until_answers(port, web, log)
        socks = _half_sent(port, 400)
        time.sleep(0.5)
        assert _answered(port) == 200
        assert _answered(port) == 200
        assert web.poll() is None
    finally:
        for s in socks:
            s.close()
        _stop(web)


def test_past_1024_descriptors_and_idle_connections_are_closed(tmp_path):
    count = 1100  # past select()'s FD_SETSIZE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < count + 200:
        pytest.skip(f"the hard open-files limit ({hard}) is below {count + 200}")
    if soft != resource.RLIM_INFINITY and soft < count + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (count + 200, hard))
    inst = _instance(tmp_path)
    port, log = _free_port(), tmp_path / "web.log"
    web = _start(["web", "--port", str(port)], inst, log,
                 PITCHFAST_WEB_CONNECTION_LIMIT="1500", PITCHFAST_WEB_CHANNEL_TIMEOUT="4")
    socks: list[socket.socket] = []
    try:
        _wait_until_answers(port, web, log)
        socks = _half_sent(port, count)
        assert _answered(port) == 200
        assert web.poll() is None, log.read_text()
        # WEB_CHANNEL_TIMEOUT: the server closes every idle connection (recv sees the end)
        for s in socks:
            s.setblocking(False)
        open_socks, deadline = list(socks), time.monotonic() + 60
        while open_socks and time.monotonic() < deadline:
            time.sleep(0.5)
            open_socks = [s for s in open_socks if not _closed_by_peer(s)]
        assert not open_socks, f"{len(open_socks)} idle connections still open after 60 s"
        assert _answered(port) == 200
    finally:
        for s in socks:
            s.close()
        _stop(web)


def _closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(1024) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True  # reset


def _children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (read from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rpartition(")")[2].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"  # a zombie has ended


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkilled_run_takes_its_web_and_worker_with_it(tmp_path):
    inst = _instance(tmp_path, migrate=False)  # `run` migrates by itself
    port, log = _free_port(), tmp_path / "run.log"
    run = _start(["run", "--port", str(port)], inst, log)
    kids: list[int] = []
    try:
        _wait_until_answers(port, run, log, seconds=120)
        deadline = time.monotonic() + 30
        while len(kids := _children(run.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(kids) == 2, (kids, log.read_text())  # the worker and the web server
        run.kill()
        run.wait(15)
        deadline = time.monotonic() + 15
        while any(_alive(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [k for k in kids if _alive(k)], log.read_text()
        # nothing listens any more (the kernel may take a moment to release the socket,
        # and on a busy machine another test's client may briefly hold the port number)
        deadline = time.monotonic() + 10
        while not _port_free(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _port_free(port)
    finally:
        for k in kids:  # only if the test failed: leave nothing behind
            if _alive(k):
                os.kill(k, 9)
        _stop(run)


class _OtherServer(http.server.BaseHTTPRequestHandler):
    server_version = "OtherServer/1.0"

    def do_HEAD(self) -> None:  # noqa: N802 - the http.server API
        self.send_response(404)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def test_a_second_start_on_a_busy_port_says_what_holds_it(tmp_path):
    inst = _instance(tmp_path, migrate=False)
    port, log = _free_port(), tmp_path / "run.log"
    first = _start(["run", "--port", str(port)], inst, log)
    try:
        _wait_until_answers(port, first, log, seconds=120)
        other = tmp_path / "second"
        out = subprocess.run([*PITCHFAST, "run", "--port", str(port)], env=_env(other),
                             cwd=REPO, capture_output=True, text=True, timeout=60)
        assert out.returncode != 0
        assert (f"Port {port} on 127.0.0.1 is already in use by another PitchFast"
                in out.stderr), out.stderr
        assert "Traceback" not in out.stderr and "running at" not in out.stdout
        assert not other.exists()  # checked first: nothing created, nothing started
        assert first.poll() is None and _answered(port) == 200
    finally:
        _stop(first)


def test_a_busy_port_held_by_another_program_is_named(tmp_path):
    inst = _instance(tmp_path)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OtherServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        for command in ("run", "web"):
            out = subprocess.run(
                [*PITCHFAST, command, "--port", str(httpd.server_address[1])],
                env=_env(inst), cwd=REPO, capture_output=True, text=True, timeout=60)
            assert out.returncode != 0 and "Traceback" not in out.stderr, out.stderr
            assert "already in use by another web server (Server: OtherServer/1.0" in out.stderr
        out = subprocess.run([*PITCHFAST, "web", "--port", str(silent.getsockname()[1])],
                             env=_env(inst), cwd=REPO, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode != 0 and "Traceback" not in out.stderr, out.stderr
        assert "in use by another program (it does not answer HTTP)" in out.stderr
    finally:
        httpd.shutdown()
        httpd.server_close()
        silent.close()
