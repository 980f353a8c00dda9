"""Every endpoint declares who may call it; anonymous users and members are refused
where they must be. Requests are generated from the URL map itself, so a new route
is covered the moment it is added."""

import uuid

from flask import Blueprint
from werkzeug.routing import IntegerConverter, PathConverter, UUIDConverter

from app import create_app
from app.access import access_level, public

#: Every endpoint an anonymous visitor may call, each listed by name: a route becomes
#: public only when it is added here too, in review. No blueprint is public wholesale.
PUBLIC_ENDPOINTS = {"static", "auth.login", "auth.setup", "settings.brand_css",
                    "auth.invite", "auth.reset",  # one-time account links
                    "unsubscribe.confirm", "unsubscribe.one_click",  # RFC 8058, token only
                    # public audit pages (issue 10): the token is the key
                    "public.page", "public.shot", "public.logo", "public.pdf", "public.other",
                    "public.asset_file"}
SKIP_METHODS = {"HEAD", "OPTIONS"}


def _dummy(rule):
    values = {}
    for name in rule.arguments:
        conv = rule._converters.get(name)
        if isinstance(conv, IntegerConverter):
            values[name] = 1
        elif isinstance(conv, UUIDConverter):
            values[name] = uuid.UUID(int=1)
        elif isinstance(conv, PathConverter):
            values[name] = "dummy/file.png"
        else:
            values[name] = "dummy"
    return values


def requests_from_map(app):
    """(endpoint, method, url, level) for every rule and method in the URL map."""
    adapter = app.url_map.bind("localhost")
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        for method in sorted((rule.methods or set()) - SKIP_METHODS):
            url = adapter.build(rule.endpoint, _dummy(rule), method=method)
            out.append((rule.endpoint, method, url, access_level(rule.endpoint, app)))
    return out


def undeclared_endpoints(app):
    return sorted(ep for ep in app.view_functions if access_level(ep, app) is None)


def test_every_endpoint_declares_an_access_level(app):
    missing = undeclared_endpoints(app)
    assert missing == [], f"endpoints without @public/@member/@admin: {missing}"
    assert len(app.view_functions) > 10


def public_endpoints(app):
    return {ep for ep in app.view_functions if access_level(ep, app) == "public"}


def test_public_endpoints_are_exactly_the_listed_ones(app):
    found = public_endpoints(app)
    surprising = sorted(found - PUBLIC_ENDPOINTS)
    assert surprising == [], f"unexpected public endpoints (list them on purpose): {surprising}"
    gone = sorted(PUBLIC_ENDPOINTS - found)
    assert gone == [], f"listed as public but missing or no longer public: {gone}"


def test_a_new_public_route_is_flagged_until_listed(app_config):
    app = create_app(app_config)
    bp = Blueprint("shared", __name__)  # a future public blueprint
    bp.add_url_rule("/shared/<token>", "report", public(lambda token: "shared report"))
    app.register_blueprint(bp)
    assert sorted(public_endpoints(app) - PUBLIC_ENDPOINTS) == ["shared.report"]


def test_the_walker_catches_an_undeclared_route(app_config):
    app = create_app(app_config)
    app.add_url_rule("/oops", "oops", lambda: "secret stuff")
    app.add_url_rule("/fine", "fine", public(lambda: "ok"))
    assert undeclared_endpoints(app) == ["oops"]
    client = app.test_client()
    assert client.get("/oops").status_code == 403  # the hook refuses it at runtime too
    assert client.get("/fine").status_code == 200


def test_anonymous_users_are_refused_everywhere_but_public(app, client):
    checked = 0
    for endpoint, method, url, level in requests_from_map(app):
        if level == "public":
            continue
        resp = client.open(url, method=method, headers={"Accept": "text/html"})
        checked += 1
        if level == "api_key":  # the JSON API: no key, a JSON 401 (tests/api for the rest)
            assert endpoint.startswith("api."), endpoint
            assert resp.status_code == 401 and resp.json["error"]["code"] == "unauthorized"
            continue
        if resp.status_code == 302:
            assert "/login" in resp.headers["Location"], (endpoint, method, url)
        else:
            assert resp.status_code in (401, 403), (endpoint, method, url, resp.status_code)
        htmx = client.open(url, method=method, headers={"HX-Request": "true"})
        assert htmx.status_code in (401, 403), (endpoint, method, url, htmx.status_code)
        if htmx.status_code == 401:
            assert "/login" in htmx.headers["HX-Redirect"]
    assert checked >= 10


def test_members_are_refused_on_every_admin_endpoint(app, client, auth):
    auth.login("member")
    admin_requests = [r for r in requests_from_map(app) if r[3] == "admin"]
    assert {r[0].split(".")[0] for r in admin_requests} >= {"users", "settings"}
    for endpoint, method, url, _level in admin_requests:
        resp = client.open(url, method=method)
        assert resp.status_code == 403, (endpoint, method, url, resp.status_code)


def test_declared_levels_are_known(app):
    levels = {access_level(ep, app) for ep in app.view_functions}
    assert levels <= {"public", "member", "admin", "api_key"}


def test_the_api_key_level_opens_nothing_outside_the_api(app_config):
    """A view marked ``api_key`` outside the API blueprint is refused, not opened."""
    from app.access import api_key

    app = create_app(app_config)
    app.add_url_rule("/stray", "stray", api_key(lambda: "secret stuff"))
    assert app.test_client().get("/stray").status_code == 403
