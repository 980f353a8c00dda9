"""Campaigns and leads: the domain logic (services, import/export, search, bulk actions).

Functions here take explicit arguments, flush but never commit; routes, jobs and the
CLI call them and commit at their boundary.
"""
