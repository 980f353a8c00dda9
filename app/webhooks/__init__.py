"""Webhooks: endpoints registered by admins, and signed deliveries of events to them."""
