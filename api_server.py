"""WSGI entry point: gunicorn serves ``api_server:app``."""

from celery_config import celery
from socrate.queue import TaskQueue
from socrate.web import create_app

app = create_app(queue=TaskQueue(celery))
