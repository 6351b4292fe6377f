"""Settings of the load benchmark's web server and worker: production settings (DEBUG off,
manifest static files, every security header), served over plain HTTP on 127.0.0.1.

Only what TLS would otherwise provide is relaxed: cookies are not marked Secure (the load
generator talks plain HTTP and would never send them back) and there is no HTTPS redirect.
"""

import os

from blinacell_site.settings import *  # noqa: F403

SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
STATIC_ROOT = os.environ["LOAD_STATIC_ROOT"]
