"""The Litestar application: controllers, auth middleware, error shapes, startup and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from litestar import Litestar, get
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from app import db, keys
from app.api.admin import AuthorityController, UserController
from app.api.arco import ArcoController, DataProtectionViewController, LegalHoldController
from app.api.audit import AuditController
from app.api.cases import CaseController, FormController
from app.api.custody import CustodyController
from app.api.data_protection import DataProtectionController, SecurityIncidentController
from app.api.deadlines import NotificationController, OversightController, SuspensionController
from app.api.errors import EXCEPTION_HANDLERS
from app.api.headers import api_security_headers
from app.api.input_guard import reject_nul
from app.api.placements import PlacementController, ShelterController
from app.api.security import TokenAuthMiddleware
from app.api.session import MeController, SessionController
from app.api.tasks import InboxController, TaskController
from app.clock import utcnow
from app.route_engine import library
from app.services import calendars, checkpoints, deadlines, retention, route_versions, suspensions
from app.web.pages import template_config
from app.web.router import web_router

log = logging.getLogger("careroute")

#: Largest request body accepted (bytes); forms are far smaller (the engine caps one at 256 KiB).
MAX_BODY_BYTES = 512 * 1024


@get("/healthz", exclude_from_auth=True, include_in_schema=False)
async def healthz() -> dict[str, Any]:
    return {"ok": True, "spec_version": library().version}


async def _tick_forever(seconds: float) -> None:
    """The in-process deadline worker (app/services/deadlines.py; docs/deadlines.md)."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await suspensions.load_suspensions()  # another process may have added one
            await calendars.load_declared_days()
            result = await deadlines.sweep()
            await retention.sweep(utcnow())  # block and erase closed cases past their terms
            await (
                checkpoints.maybe_write()
            )  # signed chain head, every CAREROUTE_CHECKPOINT_INTERVAL
            if result.cases:
                log.info(
                    "fired timers of %d cases (%d escalations)", result.cases, result.escalations
                )
        except Exception:  # the worker must survive a bad tick and try again
            log.exception("timer tick failed")


def create_app(
    *, migrate: bool = False, tick_seconds: float | None = None, manage_db: bool = True
) -> Litestar:
    """``migrate``: run pending migrations at startup; ``tick_seconds``: run the deadline worker;
    ``manage_db=False`` when the caller (tests, bench) owns the database pool."""
    background: list[asyncio.Task[None]] = []

    async def on_startup() -> None:
        library()  # load and check the route before accepting requests
        if manage_db:
            keys.require()  # a server never runs without the keys outside the database
            await db.startup()
        if migrate:
            await db.migrate()
        await suspensions.load_suspensions()
        await calendars.load_declared_days()
        if manage_db:  # this route's files stored; the versions open cases run on loaded
            await route_versions.prewarm()
        if tick_seconds:
            background.append(asyncio.create_task(_tick_forever(tick_seconds)))

    async def on_shutdown() -> None:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if manage_db:
            await db.shutdown()

    auth = DefineMiddleware(
        TokenAuthMiddleware, exclude=["^/api/v1/auth/login$", "^/schema", "^/healthz$"]
    )
    return Litestar(
        route_handlers=[
            healthz,
            SessionController,
            MeController,
            CaseController,
            FormController,
            InboxController,
            TaskController,
            PlacementController,
            ShelterController,
            CustodyController,
            DataProtectionController,
            SecurityIncidentController,
            ArcoController,
            DataProtectionViewController,
            LegalHoldController,
            AuditController,
            AuthorityController,
            UserController,
            NotificationController,
            SuspensionController,
            OversightController,
            web_router(),  # the pages (app/web): own session check, CSRF field, headers
        ],
        template_config=template_config(),
        middleware=[auth],
        before_send=[api_security_headers],  # no-store, nosniff, CSP (app/api/headers.py)
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=reject_nul,  # 400 for U+0000 anywhere in the input (app/api/input_guard.py)
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="careroute",
            version="1",
            description="Care Route for migrant children in Mexico: cases, tasks, placements, "
            "audit. See docs/api.md.",
            # The document alone, as JSON, at /schema and /schema/openapi.json: no renderer page
            # (Scalar loaded an unpinned script from a CDN on the app's own origin, issue 15).
            # Any OpenAPI viewer run elsewhere can read it.
            render_plugins=[JsonRenderPlugin(path=["/", "/openapi.json"])],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer"),
                    "session": SecurityScheme(
                        type="apiKey", name="careroute_session", security_scheme_in="cookie"
                    ),
                }
            ),
            security=[{"bearer": []}, {"session": []}],
        ),
        debug=False,
    )
