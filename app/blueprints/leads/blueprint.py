"""The leads blueprint object, shared by its route modules."""

from flask import Blueprint

bp = Blueprint("leads", __name__)
