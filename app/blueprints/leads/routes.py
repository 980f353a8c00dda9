"""leads routes."""

from flask import Blueprint

bp = Blueprint("leads", __name__)
