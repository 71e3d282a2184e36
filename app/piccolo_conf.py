"""Piccolo configuration: one engine per process, chosen from DATABASE_URL (see app/db.py)."""

from piccolo.conf.apps import AppRegistry

from app.db import make_engine

DB = make_engine()
APP_REGISTRY = AppRegistry(apps=["app.piccolo_app"])
