"""API keys: create, list, revoke, and authenticate a request's key (with its rate limit)."""
