"""lead search: full-text search over business name, domain, email and city.

SQLite: an FTS5 virtual table ``leads_search`` (external content = leads) kept in
step by triggers. PostgreSQL: a stored generated ``tsvector`` column with a GIN index.
Both split domains and emails into words (``smile-dental.co.uk`` matches ``dental``).

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_UP = [
    """CREATE VIRTUAL TABLE leads_search USING fts5(
        business_name, domain, email, city,
        content='leads', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', detail='none', columnsize=0)""",
    # While a bulk import holds a row here, it fills the index in one INSERT … SELECT
    # itself (per-row trigger inserts into FTS5 are ~25x slower).
    "CREATE TABLE leads_search_pause (id INTEGER PRIMARY KEY)",
    """CREATE TRIGGER leads_search_ai AFTER INSERT ON leads
    WHEN NOT EXISTS (SELECT 1 FROM leads_search_pause) BEGIN
        INSERT INTO leads_search(rowid, business_name, domain, email, city)
        VALUES (new.id, new.business_name, new.domain, new.email, new.city);
    END""",
    """CREATE TRIGGER leads_search_ad AFTER DELETE ON leads BEGIN
        INSERT INTO leads_search(leads_search, rowid, business_name, domain, email, city)
        VALUES ('delete', old.id, old.business_name, old.domain, old.email, old.city);
    END""",
    """CREATE TRIGGER leads_search_au AFTER UPDATE OF business_name, domain, email, city ON leads
    BEGIN
        INSERT INTO leads_search(leads_search, rowid, business_name, domain, email, city)
        VALUES ('delete', old.id, old.business_name, old.domain, old.email, old.city);
        INSERT INTO leads_search(rowid, business_name, domain, email, city)
        VALUES (new.id, new.business_name, new.domain, new.email, new.city);
    END""",
    "INSERT INTO leads_search(leads_search) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS leads_search_au",
    "DROP TRIGGER IF EXISTS leads_search_ad",
    "DROP TRIGGER IF EXISTS leads_search_ai",
    "DROP TABLE IF EXISTS leads_search",
    "DROP TABLE IF EXISTS leads_search_pause",
]
PG_UP = [
    """ALTER TABLE leads ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        to_tsvector('simple'::regconfig,
            coalesce(business_name, '') || ' ' ||
            translate(coalesce(domain, '') || ' ' || coalesce(email, ''), '.-@_+', '     ')
            || ' ' || coalesce(city, ''))
    ) STORED""",
    "CREATE INDEX ix_leads_search_vector ON leads USING gin (search_vector)",
]
PG_DOWN = [
    "DROP INDEX IF EXISTS ix_leads_search_vector",
    "ALTER TABLE leads DROP COLUMN IF EXISTS search_vector",
]


def upgrade():
    statements = SQLITE_UP if op.get_bind().dialect.name == "sqlite" else PG_UP
    for sql in statements:
        op.execute(sql)


def downgrade():
    statements = SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else PG_DOWN
    for sql in statements:
        op.execute(sql)
