# Copy to instance/config.py (or run `pitchfast init`, which generates SECRET_KEY).
# Secrets belong here or in PITCHFAST_* environment variables, never in the database.
# SECRET_KEY = "…64 random hex characters…"   (`pitchfast init` writes this line for you)
# DATABASE_URL = "postgresql://pitchfast:password@127.0.0.1/pitchfast"
# HUEY_URL = "redis://127.0.0.1:6379/0"
# AUDIT_ALLOW_TARGETS = ["127.0.0.1:8000"]   # local test sites only
# SMTP_HOST = "smtp.example.com"
# SMTP_USERNAME = "pitchfast"
# SMTP_PASSWORD = "…"
