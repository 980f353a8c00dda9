"""Campaigns: the logic behind the campaigns pages and ``pitchfast campaigns``.

``operations`` writes (flush, never commit, record the activity), ``queries`` reads
(listing, page figures, the one loader), ``cli`` holds the commands.
"""
