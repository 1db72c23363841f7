"""Helpers for driving the dashboard's cookie session from Flask's test client."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

PASSWORD = "correct horse battery staple"


def csrf_from(html: str) -> str:
    """The token the page hands to its forms and JavaScript."""
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def unique_email(label: str = "user") -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}@example.com"


@dataclass
class WebUser:
    """A logged-in test client plus the CSRF header its JavaScript would send."""

    client: FlaskClient
    email: str
    csrf: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}


def post_form(client: FlaskClient, path: str, **fields: str) -> TestResponse:
    """Submit a page's form the way a browser does: GET it for the token, then POST."""
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **fields})


def sign_up(app: Flask, label: str = "user", password: str = PASSWORD) -> WebUser:
    client = app.test_client()
    email = unique_email(label)
    response = post_form(client, "/signup", email=email, password=password)
    assert response.status_code == 302, response.get_data(as_text=True)
    return WebUser(client, email, csrf_from(client.get("/").get_data(as_text=True)))
