"""The leads page: search, filters, sorting, keyset pagination, filters in the URL,
and a bounded number of SQL queries per render."""

import re

import pytest

from app.leads.queries import page
from app.leads.search import LeadFilter, decode_cursor, encode_cursor
from app.models.base import utcnow


def _names(html: str) -> list[str]:
    return re.findall(r'class="lead-name" href="/leads/\d+"><bdi>([^<]*)</bdi></a>', html)


@pytest.fixture
def mixed(campaign, add_leads):
    add_leads(
        campaign,
        10,
        prefix="dent",
        city=lambda i: ["Leeds", "York", None][i % 3],
        score=lambda i: None if i % 4 == 0 else i * 10,
        email=lambda i: f"a{i}@dent{i}.example.com" if i % 2 else None,
        audited_at=lambda i: None if i % 4 == 0 else utcnow(),
        status=lambda i: "new" if i % 4 == 0 else "audited",
    )
    add_leads(campaign, 3, prefix="smile", business_name=lambda i: f"Smile Dental {i}", city="Bath")
    return campaign


def test_search_matches_name_domain_email_and_city(mixed, client, auth):
    auth.login()
    assert len(_names(client.get("/campaigns/dentists/leads?q=smile").data.decode())) == 3
    assert len(_names(client.get("/campaigns/dentists/leads?q=dental+smi").data.decode())) == 3
    assert _names(client.get("/campaigns/dentists/leads?q=dent3.example").data.decode()) == [
        "Dent 00003"
    ]
    assert _names(client.get("/campaigns/dentists/leads?q=a5%40dent5").data.decode()) == [
        "Dent 00005"
    ]
    assert len(_names(client.get("/campaigns/dentists/leads?q=bath").data.decode())) == 3
    html = client.get(
        "/campaigns/dentists/leads?q=%22%29+OR+*+%3A"
    ).data.decode()  # FTS syntax is inert
    assert "lead" in html


def test_filters_combine_and_live_in_the_url(mixed, client, auth):
    auth.login()
    html = client.get(
        "/campaigns/dentists/leads?status=audited&city=leeds&has_email=yes"
    ).data.decode()
    # audited, Leeds (i % 3 == 0), odd i -> i in {3, 9}
    assert sorted(_names(html)) == ["Dent 00003", "Dent 00009"]
    assert "2</strong> leads match" in html
    assert 'href="/campaigns/dentists/leads.csv?' in html and "status=audited" in html
    html = client.get("/campaigns/dentists/leads?score_min=50&score_max=70").data.decode()
    assert sorted(_names(html)) == ["Dent 00005", "Dent 00006", "Dent 00007"]
    html = client.get("/campaigns/dentists/leads?audited=no").data.decode()
    assert len(_names(html)) == 3 + 3
    html = client.get("/campaigns/dentists/leads?score_min=abc&status=bogus").data.decode()
    assert len(_names(html)) == 13  # invalid filter parts are ignored, not a crash


def test_sort_by_score_puts_unscored_last_both_ways(mixed, client, auth):
    auth.login()
    desc = _names(client.get("/campaigns/dentists/leads?sort=-score").data.decode())
    asc = _names(client.get("/campaigns/dentists/leads?sort=score").data.decode())
    scored = [
        "Dent 00009",
        "Dent 00007",
        "Dent 00006",
        "Dent 00005",
        "Dent 00003",
        "Dent 00002",
        "Dent 00001",
    ]
    assert desc[:7] == scored and asc[:7] == scored[::-1]
    unscored = [
        "Dent 00000",
        "Dent 00004",
        "Dent 00008",
        "Smile Dental 0",
        "Smile Dental 1",
        "Smile Dental 2",
    ]
    assert sorted(desc[7:]) == sorted(asc[7:]) == unscored


@pytest.mark.parametrize(
    "sort",
    [
        "-created",
        "created",
        "name",
        "-name",
        "score",
        "-score",
        "city",
        "-city",
        "status",
        "-status",
    ],
)
@pytest.mark.parametrize("q", ["", "biz"], ids=["all", "search"])
def test_keyset_pages_walk_every_lead_once_forward_and_back(app, campaign, add_leads, sort, q):
    add_leads(campaign, 4, prefix="other")  # never matched by the search
    add_leads(
        campaign,
        23,
        city=lambda i: None if i % 5 == 0 else f"C{i % 4}",
        score=lambda i: None if i % 3 == 0 else i % 7,
        status=lambda i: ["new", "audited", "lost"][i % 3],
    )
    f = LeadFilter(sort=sort, q=q)
    seen, pages, after = [], [], None
    while True:
        p = page(campaign.id, f, after=after, per_page=5)
        assert p.total == (27 if not q else 23)
        pages.append([r.id for r in p.rows])
        seen += pages[-1]
        if not p.next_cursor:
            break
        after = p.next_cursor
    assert len(seen) == p.total and len(set(seen)) == p.total
    assert len(pages) == (6 if not q else 5)
    # walk back from the last page with "before" cursors
    p = page(campaign.id, f, after=None, per_page=5)
    back = page(
        campaign.id,
        f,
        before=page(campaign.id, f, after=p.next_cursor, per_page=5).prev_cursor,
        per_page=5,
    )
    assert [r.id for r in back.rows] == pages[0]
    assert back.prev_cursor is None


def test_tampered_cursor_falls_back_to_first_page(app, campaign, add_leads):
    add_leads(campaign, 3)
    assert decode_cursor("not-base64!!", "name") is None
    assert decode_cursor(encode_cursor(0, 5, 1), "name") is None  # wrong type for the sort
    assert decode_cursor(encode_cursor(0, "x", 1), "status") is None
    assert len(page(campaign.id, LeadFilter(), after="garbage").rows) == 3


def test_leads_page_uses_at_most_three_queries(client, auth, campaign, add_leads, count_queries):
    auth.login()
    add_leads(
        campaign,
        120,
        city=lambda i: "Leeds" if i % 2 else None,
        score=lambda i: i % 100,
        email=lambda i: f"x{i}@biz{i}.example.com",
    )
    urls = [
        "/campaigns/dentists/leads",
        "/campaigns/dentists/leads?status=new&city=Leeds&has_email=yes",
        "/campaigns/dentists/leads?q=biz1",
        "/campaigns/dentists/leads?sort=-score&score_min=10",
        "/campaigns/dentists/leads?q=&status=&score_min=&score_max=&audited=&city=&has_email=&sort=",
    ]
    first = client.get(urls[0]).data.decode()
    next_url = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    for url in [*urls, next_url]:
        with count_queries() as q:
            resp = client.get(url)
        assert resp.status_code == 200
        assert q.count <= 3, (url, q.statements)
        with count_queries() as q:
            resp = client.get(url, headers={"HX-Request": "true"})
        assert resp.status_code == 200 and "<html" not in resp.data.decode()
        assert q.count <= 3, (url, q.statements)


def test_html_in_names_is_escaped_on_the_list(client, auth, campaign, add_leads):
    auth.login()
    add_leads(campaign, 1, business_name="<img src=x onerror=alert(1)>", city="<b>Leeds</b>")
    html = client.get("/campaigns/dentists/leads").data.decode()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>Leeds</b>" not in html


@pytest.mark.parametrize(("city", "expected"), [
    ("York", {"York", "york", "YORK"}),  # not "New York", "Yorkshire" or a name with York
    ("milton keynes", {"Milton Keynes"}),
    ("Montréal", {"Montréal"}),
    ("Montre\u0301al", {"Montre\u0301al"}),  # decomposed é: folded like the index
    ("İstanbul", {"İstanbul"}),
    ("Nowhere", set()),
])
def test_search_with_a_city_filter_matches_the_city_exactly(app, campaign, add_leads, city,
                                                            expected):
    """The city's words narrow the full-text lookup (SQLite); the city match stays exact."""
    cities = ["York", "york", "YORK", "New York", "Yorkshire", "Milton Keynes", "Montréal",
              "Montre\u0301al", "İstanbul", "Leeds"]
    add_leads(campaign, len(cities), prefix="dental", city=lambda i: cities[i])
    add_leads(campaign, 2, prefix="york", business_name=lambda i: f"York Dental {i}",
              city="Leeds")
    add_leads(campaign, 2, prefix="other", city="York")  # the right city, not the search
    p = page(campaign.id, LeadFilter(q="dental", city=city))
    assert {r.city for r in p.rows} == expected
    assert p.total == len(expected) == len(p.rows)
    assert all(r.business_name.lower().startswith("dental") for r in p.rows)
