"""gunicorn's settings wherever the site is served by it (make run, the container, the
benchmarks): `gunicorn -c python:blinacell_site.gunicorn_conf blinacell_site.wsgi`.

WEB_WORKERS processes of WEB_THREADS threads each. A request mostly waits on PostgreSQL, so a
few threads per process keep both cores busy while one request waits; more processes than cores
only add memory. The defaults were chosen by the load benchmark on a 2-core machine
(docs/operations.md, "Sizing the web server").
"""

import os

workers = int(os.environ.get("WEB_WORKERS", "3"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
# A request still running after this long is stopped (the worker restarts); every page answers
# in well under a second, a study export runs in the Celery worker.
timeout = 60
graceful_timeout = 5
