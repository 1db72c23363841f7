"""The baseline for bench.status: a bare Flask JSON endpoint, no auth, no database."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/bare")
def bare():  # type: ignore[no-untyped-def]
    return jsonify(status="ok", progress=100)
