"""The dashboard's read models (:mod:`.queries`): counts by status, what needs attention,
and the activity feed."""
