"""Which lead field each CSV column holds: the fields and the header names we recognise."""

from __future__ import annotations

from app.leads.normalize import fold

#: Lead fields a column can map to, with their label and maximum length.
FIELDS: dict[str, tuple[str, int]] = {
    "business_name": ("Business name", 300),
    "website_url": ("Website", 2048),
    "email": ("Email", 254),
    "contact_name": ("Contact name", 200),
    "phone": ("Phone", 64),
    "city": ("City", 120),
    "address": ("Address", 500),
    "source": ("Source", 120),
    "notes": ("Notes", 10_000),
}
#: Folded header spellings recognised automatically, per field.
ALIASES: dict[str, tuple[str, ...]] = {
    "business_name": (
        "name",
        "business",
        "business name",
        "company",
        "company name",
        "title",
        "organisation",
        "organization",
        "place",
        "place name",
        "shop",
        "store",
        "practice",
        "firm",
        "account",
        "account name",
        "lead",
    ),
    "website_url": (
        "website",
        "web",
        "url",
        "site",
        "domain",
        "homepage",
        "web site",
        "website url",
        "site url",
        "link",
        "www",
    ),
    "email": ("email", "e mail", "email address", "mail", "contact email", "e mail address"),
    "contact_name": (
        "contact",
        "contact name",
        "owner",
        "person",
        "full name",
        "first name",
        "manager",
        "decision maker",
    ),
    "phone": ("phone", "telephone", "tel", "phone number", "mobile", "cell", "phone no"),
    "city": ("city", "town", "locality", "municipality", "ville", "stadt", "location"),
    "address": (
        "address",
        "street",
        "street address",
        "full address",
        "address 1",
        "address line 1",
    ),
    "source": ("source", "lead source", "origin", "list"),
    "notes": ("notes", "note", "comment", "comments", "description", "remarks"),
}


def detect_mapping(headers: list[str]) -> dict[str, int | None]:
    """``{field: column index or None}`` from common header names (exact, then partial)."""
    folded = [fold(h) for h in headers]
    mapping: dict[str, int | None] = dict.fromkeys(FIELDS)
    taken: set[int] = set()
    for exact in (True, False):
        for fieldname, aliases in ALIASES.items():
            if mapping[fieldname] is not None:
                continue
            for i, h in enumerate(folded):
                if i in taken or not h:
                    continue
                hit = (
                    h in aliases
                    if exact
                    else any(a in h.split() or h.startswith(a) for a in aliases if len(a) > 3)
                )
                if hit:
                    mapping[fieldname] = i
                    taken.add(i)
                    break
    return mapping
