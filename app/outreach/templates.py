"""Merge fields and the sandboxed Jinja that fills them in.

Templates are written by staff but filled with values from outside (imported lead names,
what an audited site said), so they run in Jinja's :class:`SandboxedEnvironment` with
``range`` taken away, ``*``/``+`` bounded, ``**`` refused and every loop counted, and
their output is bounded too.

A field that is unknown (a typo, a field that does not exist) is an error when the
template is saved or previewed. A known field that has no value for a lead (no contact
name, no grade on a site-down audit) renders as a visible :data:`MISSING` marker and is
reported: the preview flags it and approval is refused while the marker is in the text,
so an email never goes out with a gap or a raw placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NoReturn

from jinja2 import Template, TemplateSyntaxError, Undefined, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import SandboxedEnvironment

MAX_TEMPLATE = 20_000
MAX_OUTPUT = 50_000
#: What a known field without a value renders as; approval refuses text holding it.
MISSING = "[[missing: {name}]]"
MISSING_RE = re.compile(r"\[\[missing: ([A-Za-z0-9_.]{1,60})\]\]", re.IGNORECASE)


@dataclass(frozen=True)
class Field:
    name: str
    help: str
    example: Any


#: Every merge field, in the order the editor lists them.
FIELDS: tuple[Field, ...] = (
    Field("business_name", "The lead's business name", "Smile Dental"),
    Field("contact_name", "The contact's name (often empty: guard it with {% if %})",
          "Dr. Ana Ruiz"),
    Field("first_name", "The first word of the contact's name", "Ana"),
    Field("city", "The lead's city", "Porto"),
    Field("website", "The address that was audited", "https://smiledental.example"),
    Field("domain", "The website's domain", "smiledental.example"),
    Field("score", "Overall score 0–100 (none on a site-down audit)", 54),
    Field("grade", "Letter grade A–F from the score (none on a site-down audit)", "D"),
    Field("top_findings", "Up to three problems in plain words, one per line, each "
          "starting with “- ”", "- The page takes 6.1 s to show its main content"),
    Field("findings", "The same problems as a list, for {% for f in findings %}",
          ["The page takes 6.1 s to show its main content"]),
    Field("finding_count", "How many checks failed or warned", 7),
    Field("site_down_problem", "What is wrong with a site that is down (site-down "
          "template only)", "The site did not answer: the connection timed out."),
    Field("audit_link", "The lead's public audit page", "https://pitchfast.example/r/…"),
    Field("agency_name", "Your agency's name (Settings)", "Bright Web Studio"),
    Field("sender_name", "Who signs the email (the campaign's sender, else Settings)",
          "Sam Lee"),
    Field("sender_email", "The sender's address", "sam@brightweb.example"),
    Field("postal_address", "Your agency's postal address (Settings)",
          "1 Main St, Porto"),
)
FIELD_NAMES = frozenset(f.name for f in FIELDS)


class TemplateProblem(ValueError):
    """A template that cannot be used: a syntax error, an unknown field, a refused
    construct. The message says where and what, for the editor."""


class _Missing(Undefined):
    """A field without a value: renders as the MISSING marker and remembers its name.
    Tests (``{% if contact_name %}``) see it as false without flagging it."""

    __slots__ = ()

    def __str__(self) -> str:
        name = self._undefined_name or "field"
        _seen(name)
        return MISSING.format(name=name)

    def __iter__(self) -> Any:
        name = self._undefined_name or "field"
        _seen(name)
        return iter(())


# Jinja gives an Undefined no handle back to its render, so the names seen during one
# render are collected in a context variable (one per thread of the web server).
_MISSING_SEEN: ContextVar[set[str] | None] = ContextVar("outreach_missing", default=None)


def _seen(name: str) -> None:
    found = _MISSING_SEEN.get()
    if found is not None:
        found.add(name)


#: Loop iterations allowed in one render, all loops together (nested loops over a long
#: string would otherwise spin for hours without writing a character).
MAX_ITERATIONS = 10_000
_BUDGET: ContextVar[list[int] | None] = ContextVar("outreach_loop_budget", default=None)
_COUNTED = "_pf_counted"


def _counted(items: Any) -> Any:
    """Every ``{% for %}`` loops through this: it spends the render's iteration budget."""
    budget = _BUDGET.get()
    if budget is None:
        budget = [MAX_ITERATIONS]
    for item in items:
        budget[0] -= 1
        if budget[0] < 0:
            raise SecurityError(f"loops may run at most {MAX_ITERATIONS} times in all")
        yield item


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


class _Sandbox(SandboxedEnvironment):
    """The sandbox with ``*`` and ``+`` bounded to the output cap (``'x' * 10**9`` is
    memory), ``**`` refused, and every loop counted (:data:`MAX_ITERATIONS`)."""

    intercepted_binops = frozenset(["*", "**", "+"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError("the ** operator is not allowed in templates")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                size = _sized(seq)
                if size is not None and isinstance(times, int) and (
                        abs(times) > 1000 or size * times > MAX_OUTPUT):
                    raise SecurityError("repeating text more than 1000 times or past "
                                        f"{MAX_OUTPUT} characters is not allowed")
        elif operator == "+":
            a, b = _sized(left), _sized(right)
            if a is not None and b is not None and a + b > MAX_OUTPUT:
                raise SecurityError(f"joining text past {MAX_OUTPUT} characters is not allowed")
        return super().call_binop(context, operator, left, right)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, _COUNTED, [], [], None, None,
                                     lineno=loop.lineno)
        return tree


def _env() -> _Sandbox:
    env = _Sandbox(undefined=_Missing, autoescape=False, keep_trailing_newline=False)
    for name in ("range", "lipsum", "cycler", "joiner", "namespace", "dict"):
        env.globals.pop(name, None)
    env.filters[_COUNTED] = _counted
    return env


_ENV = _env()


def _syntax(label: str, exc: TemplateSyntaxError) -> NoReturn:
    line = f" on line {exc.lineno}" if exc.lineno else ""
    raise TemplateProblem(f"The {label} has a syntax error{line}: {exc.message}.") from None


def check(source: str, *, label: str = "template") -> None:
    """TemplateProblem unless ``source`` parses and uses only known merge fields."""
    problem = _problem(source, label)
    if problem:
        raise TemplateProblem(problem)


@lru_cache(maxsize=256)
def _problem(source: str, label: str) -> str | None:
    # Cached: a bulk draft checks the same two templates for every lead.
    try:
        _check(source, label)
    except TemplateProblem as exc:
        return str(exc)
    return None


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    return _ENV.from_string(source)


def _check(source: str, label: str) -> None:
    if len(source) > MAX_TEMPLATE:
        raise TemplateProblem(f"The {label} is too long (at most {MAX_TEMPLATE} characters).")
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        _syntax(label, exc)
    unknown = sorted(meta.find_undeclared_variables(tree) - FIELD_NAMES)
    if unknown:
        names = ", ".join(unknown)
        raise TemplateProblem(
            f"The {label} uses unknown field{'s' if len(unknown) > 1 else ''} {names}: "
            "pick from the list of fields."
        )
    for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import,
                               nodes.FromImport, nodes.Macro, nodes.CallBlock)):
        raise TemplateProblem(
            f"The {label} uses {{% {type(node).__name__.lower()} %}} on line {node.lineno}, "
            "which templates cannot use."
        )


def fields_used(source: str) -> set[str]:
    """The merge fields a (checked) template refers to."""
    return set(meta.find_undeclared_variables(_ENV.parse(source)))


@dataclass
class Rendered:
    """A filled-in template: the text, and the known fields that had no value."""

    text: str
    missing: list[str] = field(default_factory=list)


def render(source: str, values: Mapping[str, Any], *, label: str = "template") -> Rendered:
    """Fill ``source`` with ``values`` (fields with None or "" count as missing).
    TemplateProblem for syntax errors, unknown fields and refused constructs."""
    check(source, label=label)
    present = {k: v for k, v in values.items() if k in FIELD_NAMES and v not in (None, "", [])}
    missing: set[str] = set()
    token = _MISSING_SEEN.set(missing)
    budget = _BUDGET.set([MAX_ITERATIONS])
    try:
        chunks: list[str] = []
        size = 0
        for chunk in _compiled(source).generate(present):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateProblem(
                    f"The {label} produces more than {MAX_OUTPUT} characters."
                )
            chunks.append(chunk)
    except TemplateSyntaxError as exc:
        _syntax(label, exc)
    except SecurityError as exc:
        raise TemplateProblem(
            f"The {label} does something not allowed: {str(exc).rstrip('.')}."
        ) from None
    except TemplateError as exc:
        raise TemplateProblem(f"The {label} could not be filled in: {exc}.") from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateProblem(f"The {label} could not be filled in: {exc}.") from None
    finally:
        _MISSING_SEEN.reset(token)
        _BUDGET.reset(budget)
    text = "".join(chunks)
    found = missing | {m.group(1) for m in MISSING_RE.finditer(text)}
    return Rendered(text=text, missing=sorted(found))


def missing_in(*texts: str) -> list[str]:
    """The MISSING markers left in drafted text (an edit may have removed them)."""
    return sorted({m.group(1) for t in texts for m in MISSING_RE.finditer(t)})


def letter_grade(score: int | None) -> str | None:
    """A–F from a 0–100 score; None without one."""
    if score is None:
        return None
    for floor, letter in ((90, "A"), (80, "B"), (70, "C"), (60, "D")):
        if score >= floor:
            return letter
    return "F"


def bullet_lines(items: Sequence[str]) -> str:
    """``- item`` lines for plain-text emails."""
    return "\n".join(f"- {item}" for item in items)


def examples() -> dict[str, Any]:
    """Every field's example value (the editor's preview without a lead)."""
    return {f.name: f.example for f in FIELDS}
