"""gunicorn reads ./gunicorn.conf.py by default: the Procfile's web line picks this up unchanged.

Access and error logs use the app's LOG_FORMAT (kv or json), one line per request. The app (and the
embedding model api_server.py loads with it) is loaded once in the master before the workers fork:
they share the model's memory copy-on-write and none of them makes a user wait for it.
Threads (gthread): a client sending its upload slowly holds one thread, not a whole worker, so
status polls keep being answered (bench.slow_clients). ``WEB_THREADS=1`` gives the plain sync worker.

gunicorn's own refusals (URL or headers too long) answer JSON like the app (socrate/web/gunicorn_errors.py).
"""

import os

from gunicorn import util

from socrate.web.gunicorn_errors import write_json_error

util.write_error = write_json_error
threads = int(os.environ.get("WEB_THREADS") or 32)
worker_class = "gthread" if threads > 1 else "sync"
# gunicorn's default of 2 s closes idle keep-alive connections so soon that a client reusing one after a
# second's pause can meet the close (a dropped request under load, tests/test_load.py); idle connections
# wait in the poller, not in a thread, so keeping them longer costs little.
keepalive = 10
logger_class = "socrate.web.gunicorn_log.Logger"
accesslog = "-"
preload_app = True
