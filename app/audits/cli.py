"""``pitchfast audit URL [--json] [--out DIR]``: audit one site from the command line.

Exit 0 on a finished audit (whatever it found, a site that is down included); exit 2 with
a one-line reason when the audit could not run. ``run_cli_audit`` does the work without
Flask, for tests.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from app.audits.engine import AuditEngine, AuditResult, EngineConfig

log = logging.getLogger(__name__)
ENV_TARGETS = "PITCHFAST_AUDIT_ALLOW_TARGETS"


def parse_targets(*sources: str | Iterable[str] | None) -> frozenset[str]:
    """Merge allowlists given as lists or comma-separated strings."""
    out: set[str] = set()
    for src in sources:
        items = src.split(",") if isinstance(src, str) else (src or [])
        out.update(t.strip() for t in items if t and t.strip())
    return frozenset(out)


def write_screenshots(result: AuditResult, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write every screenshot to ``out_dir`` (temp name, then rename)."""
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for shot in result.screenshots:
        path = root / Path(shot.name).name
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(shot.data)
        tmp.replace(path)
        written.append(path)
    return written


def _summary(result: AuditResult) -> str:
    doc = result.document
    if result.site_down:
        down = doc.get("site_down") or {}
        lines = [f"{doc.get('final_url') or doc['url']}  SITE DOWN ({down.get('kind')})  "
                 f"({doc['timings'].get('total')} ms)",
                 f"  {down.get('title')}", f"  {down.get('detail')}"]
        lines += [f"  screenshot {s.name}" for s in result.screenshots if s.kind == "viewport"]
        return "\n".join(lines)
    scores = doc["scores"] or {}
    lines = [
        f"{doc['final_url']}  overall {scores.get('overall')}  "
        f"opportunity {scores.get('opportunity')}  ({doc['timings'].get('total')} ms)"
    ]
    lines.append(
        "  "
        + "  ".join(f"{k} {v}" for k, v in scores.items() if k not in ("overall", "opportunity"))
    )
    for check in doc["checks"]:
        if check["outcome"] in ("fail", "warn"):
            lines.append(f"  {check['outcome']:4} {check['id']}: {check['title']}")
    return "\n".join(lines)


def run_cli_audit(
    url: str,
    allow_targets: Iterable[str] | str | None,
    out_dir: str | None,
    as_json: bool,
    *,
    engine: AuditEngine | None = None,
) -> int:
    """Audit ``url``, print the document (JSON) or a summary; return the exit code."""
    own = engine is None
    engine = engine or AuditEngine(EngineConfig(allow_targets=parse_targets(allow_targets)))
    try:
        result = engine.audit(url)
    finally:
        if own:
            engine.close()
    if result.finished and out_dir:
        paths = write_screenshots(result, out_dir)
        result.document["screenshot_files"] = [str(p) for p in paths]
    if not result.finished:
        if as_json:
            click.echo(json.dumps(result.document, indent=2, default=str))
        click.echo(f"audit failed: {result.status}: {result.document['error']}", err=True)
        return 2
    click.echo(json.dumps(result.document, indent=2, default=str) if as_json else _summary(result))
    return 0


@click.command("audit")
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="Print the result document as JSON.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Write screenshots here.")
@with_appcontext
def audit_command(url: str, as_json: bool, out_dir: str | None) -> None:
    """Audit one website in a real browser."""
    allow = parse_targets(
        current_app.config.get("AUDIT_ALLOW_TARGETS"), os.environ.get(ENV_TARGETS)
    )
    if allow:
        log.warning("audit allowlist in use: %s", ", ".join(sorted(allow)))
    raise SystemExit(run_cli_audit(url, allow, out_dir, as_json))
