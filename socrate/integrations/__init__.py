"""Talking to other people's servers: link fetching (SSRF-safe); webhooks later."""
