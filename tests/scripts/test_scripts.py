"""The README's commands: ``scripts/start`` sets up (a no-op once ``scripts/test`` has set
up the superset) and hands over to ``pitchfast run``. Guards the set-up script's shell,
where one failing substitution under ``set -e`` once stopped ``scripts/start`` silently.

Marked ``slow``: it runs ``scripts/setup`` (apt and pip checks, an install when
``pyproject.toml`` changed), so it lives outside the quick ``tests/core``. ``scripts/test``
runs it with the rest of ``tests/``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITCHFAST_")}
    return subprocess.run([str(ROOT / "scripts" / args[0]), *args[1:]], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def test_start_sets_up_then_runs_pitchfast():
    proc = _run("start", "--help")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Usage:" in proc.stdout and "--port" in proc.stdout


def test_setup_twice_is_a_no_op_the_second_time():
    assert _run("setup").returncode == 0
    again = _run("setup")
    assert again.returncode == 0 and "installing" not in again.stdout + again.stderr
