"""Talking to other people's servers: fetching links and delivering webhooks (SSRF-safe), idempotent
requests, the OpenAPI contract."""
