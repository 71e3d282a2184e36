"""careroute service: the Care Route as a JSON API over Litestar and Piccolo.

Piccolo finds its engine through the ``PICCOLO_CONF`` module; every entry point (CLI, tests,
bench, ASGI) imports this package first, so the setting is made here once.
"""

import os

os.environ.setdefault("PICCOLO_CONF", "app.piccolo_conf")
