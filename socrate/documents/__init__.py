"""The document service (service: create, status, list, delete) and the lifecycle every status change
goes through (lifecycle)."""
