"""gunicorn's settings wherever the site is served by it (make run, the container, the
benchmarks): `gunicorn -c python:blinacell_site.gunicorn_conf blinacell_site.wsgi`.

WEB_WORKERS processes of WEB_THREADS threads each (threads > 1: gunicorn's gthread worker). A
page spends most of its time in Python (the ORM and the templates), not waiting: on a 2-core
machine the load benchmark's 50 users were served best by 5 single-threaded processes (page p95
525 ms), against 999 ms with 4, 1,516 ms with 8, and 1,218-1,823 ms with 2 x 6, 3 x 2 or 3 x 4
threads (threads of one process queue on its interpreter lock). Figures: docs/operations.md,
"Performance". About 2 x cores + 1 processes on another machine.
"""

import os

workers = int(os.environ.get("WEB_WORKERS", "5"))
threads = int(os.environ.get("WEB_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
# A request still running after this long is stopped (the worker restarts); every page answers
# in well under a second, a study export runs in the Celery worker.
timeout = 60
graceful_timeout = 5
