"""Socrate: multi-tenant document memory (upload -> Celery -> memvid -> search)."""
