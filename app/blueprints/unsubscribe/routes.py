"""``/u/<token>``: the unsubscribe link in every outreach email (RFC 8058).

* ``GET`` only shows a page with one button: link scanners and mail previews fetch GETs,
  and must never unsubscribe anyone.
* ``POST`` (the mail client's one-click ``List-Unsubscribe=One-Click``, or the button)
  unsubscribes at once and answers 200, never a redirect: no sign-in, no cookie and no
  CSRF token are needed or set (the 256-bit token is the only key), and doing it twice
  is harmless. Unknown tokens get a plain 404.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask.typing import ResponseReturnValue

from app.access import public
from app.extensions import csrf, db
from app.outreach import unsubscribe as operations
from app.settings.queries import agency

bp = Blueprint("unsubscribe", __name__)
csrf.exempt(bp)  # RFC 8058: the mail client posts without any token; the URL is the key
#: The page's own CSP: no script, styles from us, the one form posts back here.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


def _page(template: str, status: int = 200, **context: object) -> Response:
    profile = agency()
    resp = Response(render_template(f"unsubscribe/{template}", agency=profile, **context),
                    status=status, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/u/<token>")
@public
def confirm(token: str) -> ResponseReturnValue:
    message = operations.outreach_for_token(token)
    if message is None:
        return _page("not_found.html", 404)
    done = operations.is_unsubscribed(message)
    return _page("confirm.html", token=token, address=message.recipient, done=done)


@bp.post("/u/<token>")
@public
def one_click(token: str) -> ResponseReturnValue:
    message = operations.outreach_for_token(token)
    if message is None:
        db.session.rollback()
        return _page("not_found.html", 404)
    operations.unsubscribe(message)
    db.session.commit()
    return _page("done.html", address=message.recipient)
