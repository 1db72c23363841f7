"""The baseline for bench.status: a bare Flask JSON endpoint, no auth, no database."""

from flask import Flask, Response, jsonify

app = Flask(__name__)


@app.get("/bare")
def bare() -> Response:
    return jsonify(status="ok", progress=100)
