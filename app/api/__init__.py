"""The JSON API's read models: what ``/api/v1`` answers, built from the same queries and
rows the pages use (the web layer is :mod:`app.blueprints.api`)."""
