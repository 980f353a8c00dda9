"""Helpers of the dashboard-wide browser tests."""

from __future__ import annotations

from typing import Any


def settle(page: Any) -> None:
    """Wait until htmx has finished every request and swap."""
    from playwright.sync_api import expect

    expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)
