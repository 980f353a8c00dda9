"""Fixtures for the core (foundations) tests."""

from __future__ import annotations

import io

import pytest
from PIL import Image


@pytest.fixture
def image_bytes():
    """Factory: ``image_bytes("PNG", size=(40, 20))`` → real encoded image bytes."""

    def make(fmt: str = "PNG", size: tuple[int, int] = (40, 20), colour=(79, 70, 229)) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", size, colour).save(buf, format=fmt)
        return buf.getvalue()

    return make


@pytest.fixture
def login_as(client, create_user):
    """Sign in an existing or new user through the real login form; returns the user."""

    def do(user=None, role: str = "admin", password: str = "correct horse battery"):
        user = user or create_user(role=role, password=password)
        client.post("/logout")
        resp = client.post("/login", data={"email": user.email, "password": password})
        assert resp.status_code == 302, resp.data[:300]
        return user

    return do
