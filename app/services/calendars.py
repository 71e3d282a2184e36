"""Working-day calendars per authority type and year: declared non-working days, and warnings.

LFPA art. 28 leaves out of administrative terms, besides its fixed dates, "los días en que tengan
vacaciones generales las autoridades competentes o aquellos en que se suspendan las labores, los
que se harán del conocimiento público mediante acuerdo del titular de la Dependencia respectiva,
que se publicará en el Diario Oficial de la Federación". Those days differ by authority and year
(COMAR publishes its own), so they are data: ``[calendario.autoridades.<TIPO>]`` in
config/plazos.toml, or stored here by ``careroute calendario declarar`` (workflows/calendario.py
counts them; docs/deadlines.md, "Calendars").

Declaring days stores them, counts the open cases and audits ``calendar.days_declared`` in one
transaction, then rebuilds the process's engine with the new calendar (app/route_engine.py). Like a
suspension of terms, it does not recompute the open cases itself: the deadline worker does, in
batches, through the same queue (``suspensions.run_recompute``), and the row records its progress.
Withdrawing a declaration (entered by mistake) queues the recompute again.

``warnings(now)`` lists, per authority type whose regime expects declared days (LFPA 28), each
year in use (the current one and every year an open deadline of that authority runs into) with
none loaded: its terms are then counted without them and may fall due too early. The worker logs
them (``log_warnings``: on change, else at most every few hours) and the compliance report shows
them (``calendar_warnings``).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from app.audit import text_digests
from app.clock import utcnow
from app.command import command
from app.errors import Conflict, Forbidden, NotFound, field_error
from app.principal import SYSTEM, Actor, Principal
from app.route_engine import library, set_declared_days
from app.services.suspensions import RecomputeQueue, recompute_queued, run_recompute
from app.tables import CalendarDeclaration, Case, Task
from workflows import AUTHORITY_TYPES

log = logging.getLogger("careroute.calendars")

#: Stable code of a warning; each language renders it (app/web/i18n: ``calendar_warning``).
WARNING_CODE = "calendar.year_without_declared_days"
#: The worker looks for warnings at most this often (a query of the task index) ...
CHECK_EVERY = timedelta(minutes=5)
#: ... and repeats an unchanged warning in its log at most this often.
REPEAT_EVERY = timedelta(hours=6)
#: Longest declaration accepted in one go (a year of days): a typo in a period stays visible.
MAX_DAYS = 366


# ----------------------------------------------------------------------------- loading
def _dias(text: str) -> list[date]:
    return [date.fromisoformat(d) for d in text.split(",") if d]


async def load_declared_days() -> bool:
    """Make the process's engine use every stored (not withdrawn) declaration; True if changed."""
    rows = await CalendarDeclaration.select(
        CalendarDeclaration.autoridad, CalendarDeclaration.dias
    ).where(CalendarDeclaration.withdrawn_at.is_null())
    declared: dict[str, set[date]] = {}
    for r in rows:
        declared.setdefault(r["autoridad"], set()).update(_dias(r["dias"]))
    return set_declared_days({k: frozenset(v) for k, v in declared.items()})


# ----------------------------------------------------------------------------- writing
def _may_declare(who: Principal | Actor, autoridad: str) -> bool:
    """The operator (CLI: ``SYSTEM``), an admin, or the head of an authority of that type (the
    acuerdo is its titular's, LFPA art. 28)."""
    if who == SYSTEM:
        return True
    if not isinstance(who, Principal):
        return False
    return who.is_admin or (who.role == "head" and who.authority_tipo == autoridad)


def _actor(who: Principal | Actor) -> Actor:
    return who.actor if isinstance(who, Principal) else who


def _expand(dias: list[date], periodos: list[tuple[date, date]]) -> list[date]:
    todos = set(dias)
    for i, (desde, hasta) in enumerate(periodos):
        if hasta < desde:
            raise field_error(f"$.periodos[{i}]", f"hasta ({hasta}) is before desde ({desde})")
        if (hasta - desde).days >= MAX_DAYS:
            raise field_error(f"$.periodos[{i}]", f"longer than {MAX_DAYS} days")
        todos |= {desde + timedelta(days=k) for k in range((hasta - desde).days + 1)}
    return sorted(todos)


async def declare_days(
    who: Principal | Actor,
    *,
    autoridad: str,
    dias: list[date] = (),  # type: ignore[assignment]
    periodos: list[tuple[date, date]] = (),  # type: ignore[assignment]
    fuente: str,
    motivo: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store the days ``autoridad`` declared non-working by an acuerdo and queue the recompute of
    the open cases (the worker does it; the answer says how many)."""
    if autoridad not in AUTHORITY_TYPES:
        raise field_error("$.autoridad", f"must be an authority type: {sorted(AUTHORITY_TYPES)}")
    todos = _expand(list(dias), list(periodos))
    if not todos:
        raise field_error("$.dias", "give at least one day or period")
    if len(todos) > MAX_DAYS:
        raise field_error("$.dias", f"more than {MAX_DAYS} days in one declaration")
    if not (fuente or "").strip():
        raise field_error("$.fuente", "is required (the acuerdo and its DOF publication)")
    if not _may_declare(who, autoridad):
        raise Forbidden("only an admin or the head of that authority may declare its days")
    now = now or utcnow()
    actor = _actor(who)
    async with command(actor, now) as cmd:
        total = await Case.count().where(Case.status == "open")
        row = (
            await CalendarDeclaration.insert(
                CalendarDeclaration(
                    autoridad=autoridad,
                    dias=",".join(d.isoformat() for d in todos),
                    fuente=fuente.strip()[:500],
                    motivo=(motivo or "").strip()[:500],
                    created_by=actor.user_id,
                    created_at=now,
                    **recompute_queued(total, now),
                )
            )
        )[0]
        cmd.audit(
            "calendar.days_declared",
            authority_id=actor.authority_id,
            changes={
                "declaration_id": row["id"],
                "autoridad": autoridad,
                "dias": [d.isoformat() for d in todos],
                "anios": sorted({d.year for d in todos}),
                "open_cases": total,
            },
            legal_basis=fuente.strip()[:500],
        )
    await load_declared_days()
    return await get_declaration(SYSTEM, row["id"])


async def withdraw(
    who: Principal | Actor, declaration_id: int, *, motivo: str = "", now: datetime | None = None
) -> dict[str, Any]:
    """Withdraw a declaration (entered by mistake): its days count again, and the open cases are
    recomputed again by the worker."""
    row = (
        await CalendarDeclaration.select(
            CalendarDeclaration.autoridad, CalendarDeclaration.withdrawn_at
        )
        .where(CalendarDeclaration.id == declaration_id)
        .first()
    )
    if row is None:
        raise NotFound("declaration not found")
    if not _may_declare(who, row["autoridad"]):
        raise Forbidden("only an admin or the head of that authority may withdraw its days")
    if row["withdrawn_at"] is not None:
        raise Conflict("declaration already withdrawn")
    now = now or utcnow()
    actor = _actor(who)
    reason = (motivo or "").strip()[:500]
    async with command(actor, now) as cmd:
        total = await Case.count().where(Case.status == "open")
        await CalendarDeclaration.update(
            {
                CalendarDeclaration.withdrawn_at: now,
                CalendarDeclaration.recompute_total: total,
                CalendarDeclaration.recompute_done: 0,
                CalendarDeclaration.recompute_changed: 0,
                CalendarDeclaration.recompute_failed: 0,
                CalendarDeclaration.recompute_cursor: 0,
                CalendarDeclaration.recompute_finished_at: now if total == 0 else None,
                CalendarDeclaration.withdrawn_reason: reason,
            }
        ).where(CalendarDeclaration.id == declaration_id)
        cmd.audit(
            "calendar.days_withdrawn",
            authority_id=actor.authority_id,
            changes={
                "declaration_id": declaration_id,
                "autoridad": row["autoridad"],
                "open_cases": total,
                **text_digests(motivo=reason),  # the text: the declaration's withdrawn_reason
            },
        )
    await load_declared_days()
    return await get_declaration(SYSTEM, declaration_id)


# ----------------------------------------------------------------------------- reading
_COLUMNS = (
    CalendarDeclaration.id,
    CalendarDeclaration.autoridad,
    CalendarDeclaration.dias,
    CalendarDeclaration.fuente,
    CalendarDeclaration.motivo,
    CalendarDeclaration.created_by.username.as_alias("created_by"),
    CalendarDeclaration.created_at,
    CalendarDeclaration.withdrawn_at,
    CalendarDeclaration.withdrawn_reason,
    CalendarDeclaration.recompute_total,
    CalendarDeclaration.recompute_done,
    CalendarDeclaration.recompute_changed,
    CalendarDeclaration.recompute_failed,
    CalendarDeclaration.recompute_finished_at,
)


def _view(row: dict[str, Any]) -> dict[str, Any]:
    dias = _dias(row["dias"])
    row["dias"] = dias
    row["anios"] = sorted({d.year for d in dias})
    total = row.pop("recompute_total") or 0
    done = row.pop("recompute_done")
    finished = row.pop("recompute_finished_at")
    row["recompute"] = {
        "status": "done" if finished else "running" if done else "queued",
        "cases_total": total,
        "cases_done": done,
        "cases_changed": row.pop("recompute_changed"),
        "cases_failed": row.pop("recompute_failed"),
        "finished_at": finished,
    }
    return row


def _require_reader(who: Principal | Actor) -> None:
    if who == SYSTEM:
        return
    if not isinstance(who, Principal) or not (who.is_worker or who.is_oversight or who.is_admin):
        raise Forbidden("not allowed")


async def list_declarations(
    who: Principal | Actor, autoridad: str | None = None
) -> list[dict[str, Any]]:
    _require_reader(who)
    query = CalendarDeclaration.select(*_COLUMNS).order_by(CalendarDeclaration.id)
    if autoridad:
        query = query.where(CalendarDeclaration.autoridad == autoridad)
    return [_view(r) for r in await query]


async def get_declaration(who: Principal | Actor, declaration_id: int) -> dict[str, Any]:
    _require_reader(who)
    row = (
        await CalendarDeclaration.select(*_COLUMNS)
        .where(CalendarDeclaration.id == declaration_id)
        .first()
    )
    if row is None:
        raise NotFound("declaration not found")
    return _view(row)


# ----------------------------------------------------------------------------- recompute
DECLARATIONS = RecomputeQueue(
    CalendarDeclaration,
    "declaration_id",
    "calendar.recomputed",
    (),
    lambda job: Case.status == "open",
)


async def recompute_pending(now: datetime, batch_size: int = 20) -> int:
    """Recompute the open cases of declarations (or withdrawals) not finished yet, a batch per
    transaction, through the queue suspensions of terms use; returns the cases done."""
    if not await CalendarDeclaration.exists().where(
        CalendarDeclaration.recompute_finished_at.is_null()
    ):
        return 0
    await load_declared_days()
    return await run_recompute(DECLARATIONS, now, batch_size)


# ----------------------------------------------------------------------------- warnings
async def _declared_years() -> dict[str, set[int]]:
    """Years with declared days, per authority type: the config's and the stored ones."""
    config = library().plazos.calendario_desde_config()
    years = {k: set(a.anios_declarados) for k, a in config.autoridades.items()}
    for r in await CalendarDeclaration.select(
        CalendarDeclaration.autoridad, CalendarDeclaration.dias
    ).where(CalendarDeclaration.withdrawn_at.is_null()):
        years.setdefault(r["autoridad"], set()).update(d.year for d in _dias(r["dias"]))
    return years


async def _years_of_open_deadlines(plazo_ids: list[str], tz: Any) -> set[int]:
    """Every year from the earliest start to the latest due date of the open tasks bounded by
    one of ``plazo_ids`` (local years)."""
    if not plazo_ids:
        return set()
    where = (Task.status == "open") & Task.deadline_id.is_in(plazo_ids)
    first = await Task.select(Task.created_at).where(where).order_by(Task.created_at).first()
    if first is None:
        return set()
    last = (
        await Task.select(Task.due_at)
        .where(where & Task.due_at.is_not_null())
        .order_by(Task.due_at, ascending=False)
        .first()
    )
    start = first["created_at"].astimezone(tz).year
    end = last["due_at"].astimezone(tz).year if last else start
    return set(range(start, max(start, end) + 1))


async def warnings(now: datetime | None = None) -> list[dict[str, Any]]:
    """Per authority type whose regime expects declared days, each year in use with none loaded
    (sorted by authority and year). Each item has a stable ``code`` and its parameters, and the
    message in Spanish and English."""
    now = now or utcnow()
    plazos = library().plazos
    config = plazos.calendario_desde_config()
    declared = await _declared_years()
    current = now.astimezone(config.tz).year
    out: list[dict[str, Any]] = []
    for autoridad in plazos.autoridades_con_calendario():
        ajuste = config.autoridad(autoridad)
        assert ajuste is not None
        if not ajuste.espera_dias_declarados:
            continue
        ids = plazos.plazos_de_autoridad(autoridad)
        years = {current} | await _years_of_open_deadlines(ids, config.tz)
        for anio in sorted(years - declared.get(autoridad, set())):
            out.append(
                {
                    "code": WARNING_CODE,
                    "autoridad": autoridad,
                    "anio": anio,
                    "regimen": ajuste.regimen,
                    "plazos": ids,
                    "mensaje": (
                        f"No se han cargado los días inhábiles que {autoridad} declaró para "
                        f"{anio} (LFPA art. 28): sus plazos en días hábiles se cuentan sin ellos "
                        "y pueden vencer antes. Cárguelos con «careroute calendario declarar»."
                    ),
                    "message_en": (
                        f"No non-working days declared by {autoridad} are loaded for {anio} "
                        "(LFPA art. 28): its working-day terms are counted without them and may "
                        "fall due too early. Load them with 'careroute calendario declarar'."
                    ),
                }
            )
    return out


class _LogState:
    checked_at: datetime | None = None
    logged_at: datetime | None = None
    logged: tuple[tuple[str, int], ...] = ()


_state = _LogState()


def reset_log_state() -> None:
    """Forget what was logged (tests; a new worker process starts afresh anyway)."""
    global _state
    _state = _LogState()


async def log_warnings(now: datetime) -> bool:
    """The worker's check, at most once per sweep and once per ``CHECK_EVERY``: log the warnings
    when they changed, or again after ``REPEAT_EVERY``; log once when they are gone. True if it
    logged."""
    if _state.checked_at is not None and abs(now - _state.checked_at) < CHECK_EVERY:
        return False
    _state.checked_at = now
    found = await warnings(now)
    keys = tuple((w["autoridad"], w["anio"]) for w in found)
    repeat = _state.logged_at is None or now - _state.logged_at >= REPEAT_EVERY
    if keys == _state.logged and not (keys and repeat):
        return False
    if keys:
        by_authority: dict[str, list[int]] = {}
        for autoridad, anio in keys:
            by_authority.setdefault(autoridad, []).append(anio)
        for autoridad, anios in by_authority.items():
            log.warning(
                "calendar: no declared non-working days of %s loaded for %s (LFPA art. 28); its "
                "working-day deadlines are counted without them. Load them: careroute calendario "
                "declarar --autoridad %s ...",
                autoridad,
                ", ".join(map(str, anios)),
                autoridad,
            )
    else:
        log.info("calendar: every year in use has its declared non-working days")
    _state.logged = keys
    _state.logged_at = now
    return True
