"""gunicorn reads ./gunicorn.conf.py by default: the Procfile's web line picks this up unchanged.

Access and error logs use the app's LOG_FORMAT (kv or json), one line per request.
"""

logger_class = "socrate.web.gunicorn_log.Logger"
accesslog = "-"
