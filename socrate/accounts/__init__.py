"""Who may act for a tenant: dashboard sign-up and passwords (passwords), log-in sessions (logins),
API keys (apikeys) and tenant administration (tenants)."""
