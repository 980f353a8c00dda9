"""Do-not-contact pages: the list with search and paging, add, remove, import, export."""

from app.blueprints.dnc.routes import bp

__all__ = ["bp"]
