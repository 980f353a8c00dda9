"""public blueprint."""

from app.blueprints.public.routes import bp

__all__ = ["bp"]
