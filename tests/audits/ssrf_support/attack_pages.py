"""The hostile site served on the allowlisted loopback origin: pages for each delivery vector."""

from __future__ import annotations

import html
import json
from urllib.parse import quote, urlsplit

from .servers import Hit, Reply, text

REDIRECT_CODES = (301, 302, 303, 307, 308)
VECTORS = (
    "initial", *(f"redirect-{c}" for c in REDIRECT_CODES), "meta-refresh", "js-navigation",
    "iframe", "img", "css", "fetch", "form", "websocket", "popup", "service-worker",
)


#: Vectors that do not navigate the page share one (each request is told apart by its marker).
SHARED_PAGE = ("iframe", "img", "css", "fetch", "websocket", "popup", "service-worker")


def ws_url(target: str) -> str:
    return "ws" + target[4:] if target.startswith("http") else target


def marked(base: str, vector: str) -> str:
    """``base`` made unique per vector: a sub-domain for test names, else a path."""
    parts = urlsplit(base)
    if parts.hostname and parts.hostname.endswith(".test"):
        return parts._replace(netloc=f"{vector}.{parts.netloc}").geturl()
    return parts._replace(path=f"/{vector}").geturl()


def _snippet(vector: str, target: str) -> str:
    """Body HTML that makes the browser request ``target`` by ``vector`` (no user action)."""
    a, js = html.escape(target, quote=True), json.dumps(target)
    return {
        "meta-refresh": f'<meta http-equiv="refresh" content="0;url={a}">',
        "js-navigation": f"<script>location.href = {js};</script>",
        "iframe": f'<iframe src="{a}"></iframe>',
        "img": f'<img src="{a}">',
        "css": f"<style>#c {{ background: url({js}); }}</style><div id=c>x</div>",
        "fetch": f"<script>fetch({js}, {{mode: 'no-cors'}}).catch(() => 0);</script>",
        "form": (f'<form method="post" action="{a}"><input name="a" value="1"></form>'
                 "<script>document.forms[0].submit();</script>"),
        "websocket": f"<script>try {{ new WebSocket({json.dumps(ws_url(target))}); }} "
                     "catch (e) {}</script>",
        "popup": f"<button id=go onclick='window.open({html.escape(js)})'>go</button>",
        "service-worker": _SW_SCRIPT.replace("SW", json.dumps(f"/sw.js?t={quote(target)}")),
    }[vector]


def vector_page(vectors: list[str], base: str) -> Reply:
    """One page running each of ``vectors`` against its marked copy of ``base``."""
    body = "".join(_snippet(v, marked(base, v)) for v in vectors)
    return text(f"<!doctype html><html><head><meta charset=utf-8></head><body>{body}</html>")


# Tries the page's own container and a fresh about:blank iframe's (a known way around
# init-script patches); the title reports what happened.
_SW_SCRIPT = """<script>
(async () => {
  const results = [];
  for (const realm of ['page', 'iframe']) {
    try {
      const win = realm === 'page' ? window
        : document.body.appendChild(document.createElement('iframe')).contentWindow;
      if (!win.navigator.serviceWorker) { results.push(realm + ':absent'); continue; }
      const reg = await win.navigator.serviceWorker.register(SW + '&realm=' + realm);
      results.push(realm + (reg ? ':registered' : ':blocked'));
    } catch (e) { results.push(realm + ':refused'); }
  }
  document.title = 'sw ' + results.join(' ');
})();
</script>"""


def attack_site(hit: Hit) -> Reply:
    """The allowlisted origin's app: vector pages, redirects and the worker script."""
    target = hit.query.get("t", "")
    if hit.path.startswith("/redirect/"):
        return text("", int(hit.path.rsplit("/", 1)[1]), Location=target)
    if hit.path.startswith("/v/"):
        return vector_page(hit.path[3:].split("+"), target)
    if hit.path == "/sw.js":
        body = ("self.addEventListener('install', e => e.waitUntil("
                f"fetch({json.dumps(target)}, {{mode: 'no-cors'}}).catch(() => 0)));")
        return text(body, ctype="text/javascript")
    return text("not found", 404, ctype="text/plain")
