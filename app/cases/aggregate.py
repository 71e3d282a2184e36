"""The case aggregate: one child's case as a command sees it, and what happened to it.

It holds the ``nna_case`` row, the engine case restored from ``workflow_state`` (with the version
read under the lock), and what the command needs to know about the case's other records without
querying them again: the open task index rows, the authorities holding access, the shelter where
the child is placed. Every change made through it is recorded as an event (``CaseEvent`` for the
service's own facts, ``workflows.EngineEvent`` for the engine's); the unit of work dispatches
them to the handlers (app/cases/handlers/__init__.py) after the command.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app import inegi
from app.directory import Directory
from app.errors import Conflict, InvalidInput, field_error, form_errors
from workflows import Case as EngineCase
from workflows import (
    EngineEvent,
    FormValidationError,
    ReadyTask,
    StateFormatError,
    TaskNotReadyError,
)


@dataclass(frozen=True)
class CaseEvent:
    """A fact the service records about a case (engine events have the same ``kind``/``data``)."""

    kind: str
    data: dict[str, Any]


Event = CaseEvent | EngineEvent


#: LM art. 99 (reform DOF 11-11-2020), third paragraph: no child in a migration station.
CUSTODY_LEGAL_SOURCE = "LM art. 99 (reforma DOF 11-11-2020); LM art. 112 fr. I"
#: The custody's field messages (stable: the pages translate them, app/web/forms.py).
NOT_INM = "no active INM authority with this id"
NO_ZONE = "needs a time zone (e.g. Z or -06:00)"
IN_FUTURE = "is in the future"
BEFORE_DETECTION = "is before the child's detection"
BEFORE_START = "is before the start of the custody"
WITHIN_ANOTHER = "falls within another custody record of the case"
#: The longest case note (characters).
NOTE_MAX_CHARS = 10_000
#: A date-only detection is that day in central Mexico, not midnight UTC.
_LOCAL_TZ = ZoneInfo("America/Mexico_City")


def instant(value: Any) -> datetime | None:
    """An ISO date-time (or date: its start in central Mexico) as an aware UTC instant."""
    if isinstance(value, datetime):
        return value if value.tzinfo else None
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        if len(str(value).strip()) > 10:  # a date-time without its zone: not an instant
            return None
        parsed = parsed.replace(tzinfo=_LOCAL_TZ)
    return parsed.astimezone(UTC)


@dataclass
class OpenTask:
    """A row of the task index that is open (waiting for a person)."""

    authority_id: int | None
    assignee_id: int | None


@dataclass
class Access:
    active: bool
    reason: str | None


@dataclass
class CaseAggregate:
    row: dict[str, Any]
    version: int
    #: the serialized engine state as loaded; restored on first use (a claim never needs it)
    state: str | None
    directory: Directory
    open_tasks: dict[str, OpenTask] = field(default_factory=dict)
    access: dict[int, Access] = field(default_factory=dict)
    shelter_id: int | None = None  # the shelter where the child is admitted, if any
    #: the case's data key, unwrapped once when loaded (app/datakeys.py); None until made
    data_key: bytes | None = None
    events: list[Event] = field(default_factory=list)
    #: the engine state changed and must be saved
    changed: bool = False
    #: the child changed state or municipality: open tasks re-route
    moved: bool = False
    #: the child's placement changed: open tasks re-route (shelter tasks follow the child)
    reroute: bool = False
    #: a closed case was reopened in this command: the case row opens again
    reopened: bool = False
    _ready: list[ReadyTask] | None = None
    _engine: EngineCase | None = None

    # ------------------------------------------------------------------ reading
    @property
    def engine(self) -> EngineCase:
        """The engine case, restored from ``state`` the first time it is needed."""
        if self._engine is None:
            from app.route_engine import restore

            try:
                self._engine = restore(self.state or "")
            except StateFormatError as exc:
                # The route changed since this case was saved; the engine refuses to guess.
                raise Conflict(f"cannot continue this case on this server: {exc}") from exc
        return self._engine

    async def key(self, now: datetime) -> bytes:
        """The case's data key: the one loaded with the case, else made now (once per command:
        every value the command encrypts uses it)."""
        if self.data_key is None:
            from app import datakeys

            self.data_key = await datakeys.key_for(self.id, now)
        return self.data_key

    @property
    def touched(self) -> bool:
        """Whether the command changed anything handlers must follow."""
        return bool(self.changed or self.events or self.moved or self.reroute)

    @property
    def id(self) -> int:
        return self.row["id"]

    @property
    def folio(self) -> str:
        return self.row["folio"]

    @property
    def estado(self) -> str:
        return self.row["estado"]

    @property
    def municipio(self) -> str | None:
        return self.row["municipio"]

    @property
    def is_open(self) -> bool:
        return self.row["status"] == "open"

    @property
    def opened_by(self) -> int | None:
        """The authority that opened the case (the one that received the child)."""
        return self.row.get("opened_by_authority_id")

    def ready_tasks(self) -> list[ReadyTask]:
        """The engine's ready user tasks (computed once per change)."""
        if self._ready is None:
            self._ready = self.engine.ready_tasks()
        return self._ready

    def require_open(self) -> None:
        if not self.is_open:
            raise Conflict("the case is closed")

    # ------------------------------------------------------------------ commands
    def record(self, kind: str, **data: Any) -> None:
        self.events.append(CaseEvent(kind, data))

    def _engine_did(self, events: list[EngineEvent]) -> list[EngineEvent]:
        self.events.extend(events)
        self.changed = True
        self._ready = None
        return events

    def complete_task(self, task_id: str, data: dict[str, Any], now: datetime) -> None:
        """Complete a ready task with its form (422 naming each bad field, 409 if not ready)."""
        try:
            events = self.engine.complete_task(task_id, data, now)
        except FormValidationError as exc:
            raise form_errors(exc, "$.data") from exc
        except TaskNotReadyError as exc:
            raise Conflict(str(exc)) from exc
        self._engine_did(events)

    def designate_representative(self, data: dict[str, Any], now: datetime) -> None:
        """Appoint or replace the child's representative (422 naming each bad field, 409 naming
        the guarantee when the kind does not fit who is with the child)."""
        try:
            events = self.engine.designate_representative(data, now)
        except FormValidationError as exc:
            raise form_errors(exc, "$.data") from exc
        self._engine_did(events)

    def adult_by_law(self, now: datetime) -> str | None:
        """Why the person is an adult now (workflows/guarantees.py adult_by_law), else None."""
        return self.engine.adult_by_law(now)

    def send_message(self, name: str, payload: dict[str, Any], now: datetime) -> bool:
        """Deliver a message to the route; False if the route is not waiting for it."""
        try:
            events = self.engine.send_message(name, payload, now)
        except TaskNotReadyError:
            return False
        self._engine_did(events)
        return True

    def reopen(self, data: dict[str, Any], now: datetime, authority_id: int | None) -> int:
        """Reopen a closed case: a new run of the route that starts at the protection stage
        with the case's facts (``RouteEngine.reopen``); returns the run's number. 409 if the
        case is open (or its route has not finished), 422 naming each bad field of ``data``
        (the form ``reabrir_caso``); nothing changes on either."""
        from app.route_engine import route_engine

        if self.is_open:
            raise Conflict("the case is open: only a closed case can be reopened")
        try:
            case = route_engine().reopen(self.engine, data, now)
        except FormValidationError as exc:
            raise form_errors(exc, "$") from exc
        except TaskNotReadyError as exc:
            raise Conflict(str(exc)) from exc
        run = case.runs[-1]
        self._engine = case
        self._engine_did(list(case.events))
        self.row["status"] = "open"
        self.reopened = True
        self.record(
            "case_reopened",
            run=run["numero"],
            categoria=run["categoria"],
            authority_id=authority_id,
        )
        return run["numero"]

    def migrate_route(
        self,
        target: Any,
        mapping: Any,
        run: str | None,
        *,
        revert: dict[str, Any] | None = None,
    ) -> list[str]:
        """Move the case to route version ``target`` (an engine), renaming elements with
        ``mapping``, or (``revert``: a recorded migration) back with exactly the renames it
        made. ``workflows.versions.MigrationBlocked`` naming why, with nothing changed, when an
        element the case reached does not exist there. Returns the renames applied."""
        from workflows.versions import migrate, revert_mapping, revert_renames

        state = self._engine.dump() if self._engine is not None else (self.state or "")
        source = self._engine.engine.library.version if self._engine else None
        case, result = migrate(
            state,
            target,
            revert_mapping(revert) if revert else mapping,
            run=run,
            at=None,
            renames=revert_renames(revert) if revert else None,
            since=revert,
        )
        entry = case.meta["migrations"][-1]
        entry["revert_of"] = revert.get("run") if revert else None
        if revert:
            entry["mapping"], entry["mapping_sha256"] = (
                revert.get("mapping"),
                revert.get("mapping_sha256"),
            )
        self._engine = case
        self._engine_did([])
        self.record(
            "route_migrated",
            run=run,
            from_version=result.from_version or source,
            to_version=result.to_version,
            mapping=entry["mapping"],
            mapping_sha256=entry["mapping_sha256"],
            renamed=result.elements,
            repredicted=sorted(set(result.repredicted)),
            revert_of=entry["revert_of"],
        )
        return result.elements

    def fire_timers(self, now: datetime) -> None:
        self._engine_did(self.engine.fire_timers(now))

    def recompute_deadlines(self, calendario: Any, now: datetime) -> bool:
        events = self.engine.recompute_deadlines(calendario, now)
        if events:
            self._engine_did(events)
        return bool(events)

    def relocate(self, estado: str, municipio: str | None, reason: str, now: datetime) -> bool:
        """The child is now in another state or municipality: the route's working-day deadlines
        follow the new jurisdiction and open tasks re-route. False if nothing changed."""
        if not inegi.is_valid(estado) or estado == inegi.FEDERAL:
            raise field_error("$.estado", "must be an INEGI state code 01..32")
        before = (self.estado, self.municipio)
        if before == (estado, municipio):
            return False
        self._engine_did(self.engine.relocate(estado, now))
        self.row["estado"], self.row["municipio"] = estado, municipio
        self.moved = True
        self.record(
            "case_relocated",
            from_estado=before[0],
            to_estado=estado,
            municipio_changed=before[1] != municipio,
            reason=reason,
        )
        return True

    # ------------------------------------------------------------------ notes and attachments
    def add_note(self, body: str, *, author: int | None, author_authority: int | None) -> None:
        """A note on the case (422 ``$.body`` if empty or too long). The text goes to the
        ``case_note`` row only; the audit trail gets its digest (handlers/notes.py)."""
        text = body.strip()
        if not text:
            raise field_error("$.body", "is required")
        if len(text) > NOTE_MAX_CHARS:
            raise field_error("$.body", f"is longer than {NOTE_MAX_CHARS}")
        self.record(
            "note_added",
            note_id=None,  # given by the handler that writes the row
            body=text,
            sha256=hashlib.sha256(text.encode()).hexdigest(),
            chars=len(text),
            author=author,
            author_authority_id=author_authority,
        )

    def add_attachment(
        self,
        *,
        sha256: str,
        filename: str,
        content_type: str,
        size: int,
        by: int | None,
        by_authority: int | None,
    ) -> None:
        """A file already stored under its content hash (app/services/attachments.py checked
        its type and size) becomes part of the case."""
        self.record(
            "attachment_added",
            attachment_id=None,  # given by the handler that writes the row
            sha256=sha256,
            filename=filename,
            content_type=content_type,
            size=size,
            by=by,
            by_authority_id=by_authority,
        )

    # ------------------------------------------------------------------ custody (LM art. 99)
    @property
    def detected_at(self) -> datetime | None:
        """When the child was detected (``fecha_deteccion`` of the opening form)."""
        raw = (self.row.get("variables") or {}).get("fecha_deteccion")
        return instant(raw) if raw else None

    def start_custody(
        self,
        *,
        station_id: int | None,
        station_name: str,
        started_at: datetime,
        now: datetime,
        recorded_by: int | None,
        recorded_by_authority: int | None,
        custodies: list[dict[str, Any]],
        ended_at: datetime | None = None,
        source: str = "record",
    ) -> None:
        """The child was held in an INM migration station from ``started_at`` (LM art. 99 forbids
        it, so the record is a breach from that instant), until ``ended_at`` when the stay is
        recorded after it ended; ``source``: "record", or the task whose form reported it.
        ``custodies`` are the case's custody rows read under the lock.
        422 naming each bad field; 409 while another one is open."""
        errors = []
        station = self.directory.get(station_id)
        if station_id is None:
            errors.append({"path": "$.station_authority_id", "message": "is required"})
        elif station is None or station.tipo != "INM" or not station.active:
            errors.append({"path": "$.station_authority_id", "message": NOT_INM})
        name = station_name.strip()
        if not name:
            errors.append({"path": "$.station_name", "message": "is required"})
        errors += _instant_errors(
            "$.started_at", started_at, now, self.detected_at, BEFORE_DETECTION
        )
        if ended_at is not None and not errors:
            errors += _instant_errors("$.ended_at", ended_at, now, started_at, BEFORE_START)
        if not errors:
            for c in custodies:
                if c["ended_at"] is not None and c["started_at"] < started_at < c["ended_at"]:
                    errors.append({"path": "$.started_at", "message": WITHIN_ANOTHER})
                    break
        if errors:
            raise InvalidInput("the custody is not valid", errors)
        held = [c for c in custodies if c["ended_at"] is None]
        if held and ended_at is None:
            raise Conflict(f"custody record {held[0]['id']} is still open: record its end first")
        assert station is not None
        self.record(
            "custody_started",
            case_id=self.id,
            case_folio=self.folio,
            custody_id=None,  # given by the handler that writes the row (handlers/custody.py)
            station_authority_id=station.id,
            station_code=station.code,
            station_name=name,
            started_at=started_at.astimezone(UTC),
            ended_at=ended_at.astimezone(UTC) if ended_at is not None else None,
            recorded_by=recorded_by,
            recorded_by_authority_id=recorded_by_authority,
            legal_source=CUSTODY_LEGAL_SOURCE,
            source=source,  # "record" (the custody commands) or the task whose form said so
        )

    def end_custody(
        self, custody: dict[str, Any], ended_at: datetime, now: datetime, ended_by: int | None
    ) -> None:
        """The child left the station at ``ended_at`` (422 ``$.ended_at`` if in the future or
        before the start; 409 if the record already ended)."""
        if custody["ended_at"] is not None:
            raise Conflict(f"custody record {custody['id']} already ended")
        errors = _instant_errors("$.ended_at", ended_at, now, custody["started_at"], BEFORE_START)
        if errors:
            raise InvalidInput("the end of the custody is not valid", errors)
        self.record(
            "custody_ended",
            case_id=self.id,
            case_folio=self.folio,
            custody_id=custody["id"],
            station_authority_id=custody["station_authority_id"],
            station_name=custody["station_name"],
            started_at=custody["started_at"],
            ended_at=ended_at.astimezone(UTC),
            ended_by=ended_by,
            legal_source=CUSTODY_LEGAL_SOURCE,
        )


def _instant_errors(
    path: str, at: datetime, now: datetime, earliest: datetime | None, too_early: str
) -> list[dict[str, str]]:
    """An instant of a custody: with its zone, not in the future, not before ``earliest``."""
    if at.tzinfo is None:
        return [{"path": path, "message": NO_ZONE}]
    if at > now:
        return [{"path": path, "message": IN_FUTURE}]
    if earliest is not None and at < earliest:
        return [{"path": path, "message": too_early}]
    return []
