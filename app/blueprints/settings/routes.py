"""settings routes."""

from flask import Blueprint

bp = Blueprint("settings", __name__)
