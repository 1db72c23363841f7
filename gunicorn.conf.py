"""gunicorn reads ./gunicorn.conf.py by default: the Procfile's web line picks this up unchanged.

Access and error logs use the app's LOG_FORMAT (kv or json), one line per request. The app (and the
embedding model api_server.py loads with it) is loaded once in the master before the workers fork:
they share the model's memory copy-on-write and none of them makes a user wait for it.
"""

logger_class = "socrate.web.gunicorn_log.Logger"
accesslog = "-"
preload_app = True
