"""WSGI entry point: gunicorn serves ``api_server:app``, loaded once before it forks (gunicorn.conf.py)."""

import gc

from celery_config import celery
from socrate.encoding import embedding
from socrate.taskqueue import TaskQueue
from socrate.web import create_app

app = create_app(queue=TaskQueue(celery))
embedding.preload()  # the first search must not wait seconds for the model
# What the master loaded is never garbage: the workers' collections skip it instead of walking (and so
# copying) the ~490,000 objects of the app and the model in every worker.
gc.freeze()
