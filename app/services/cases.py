"""Cases: open (start the route), list, read (audited), identity (audited), relocate.

Identity data (names, documents) arrives in the case-opening payload's ``identidad`` and goes to
``case_identity`` only: it is never sent to the engine, never listed, and never written to the
audit trail (only which fields changed).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import date, datetime
from typing import Any

from app import access, datakeys, inegi
from app.access_rules import CONSULATE
from app.audit import form_digest
from app.cases import figure_counts, texts
from app.cases.aggregate import CaseAggregate
from app.cases.handlers import access as access_handler
from app.cases.unit_of_work import CaseSession, case_command
from app.command import command
from app.directory import directory
from app.errors import Conflict, Forbidden, NotFound, field_error, form_errors
from app.principal import Principal
from app.route_engine import library, restore, route_engine, state_version
from app.services import case_search, custody, personal_data, route_versions, users
from app.tables import (
    AuditEvent,
    Case,
    CaseAccess,
    CaseIdentity,
    FolioCounter,
    Placement,
    Task,
    TaskSubmission,
    WorkflowState,
)
from workflows import FormValidationError, runs_in_state

SUMMARY_FIELDS = (
    "canal_ingreso",
    "sexo",
    "nacionalidad",
    "idioma",
    "acompanamiento_declarado",
    "edad_estimada",
)
#: The case-opening form's id in the record of completed forms.
START_FORM_ID = "inicio_caso"
#: Audit actions that are reads; they are left out of the case timeline.
READ_ACTIONS = (
    "case.read",
    "case.identity_read",
    "task.read",
    "audit.exported",
    "case.attachment_read",
    "case.forms_read",
    "case.searched",
)


def _age(form: dict[str, Any], today: date) -> int | None:
    born = form.get("fecha_nacimiento")
    if not born:
        return form.get("edad_estimada")
    b = date.fromisoformat(born)
    return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


async def next_folio(estado: str, year: int) -> str:
    """``CHIS-2026-000123``: per state and year, gap-free within committed cases.

    One upsert that increments and returns the counter: the row stays locked until the opening
    commits, so concurrent openings in one state wait for each other instead of reading the same
    number (they failed with 500 when the counter was read, then written)."""
    prefix = inegi.folio_prefix(estado, year)
    rows = await FolioCounter.raw(
        "INSERT INTO folio_counter (prefix, last) VALUES ({}, 1)"
        " ON CONFLICT (prefix) DO UPDATE SET last = folio_counter.last + 1 RETURNING last",
        prefix,
    )
    return f"{prefix}-{rows[0]['last']:06d}"


async def _family_group(link_folio: str | None, form: dict[str, Any], principal: Principal):
    """The family group to join: an explicit id, or the group of a visible case (created if it
    has none yet, named after that case)."""
    if link_folio is None:
        return form.get("grupo_familiar_id"), None
    row = await Case.select(Case.id, Case.family_group).where(Case.folio == link_folio).first()
    if row is None or not await access.can_see_case(principal, row["id"]):
        raise field_error("$.family_of", "no visible case with this folio")
    return row["family_group"] or f"FG-{link_folio}", row


async def _may_join_group(principal: Principal, group: Any) -> None:
    """An explicit ``grupo_familiar_id`` joins an existing group only if the caller's authority
    sees one of its cases: a Tabasco officer could otherwise add a case to a Chiapas family
    (issue 15). A refusal answers 404, like a group that does not exist, and is audited (in a
    transaction of its own: the opening's rolls back). A new id starts a new group."""
    if not isinstance(group, str) or not group:
        return
    members = Case.select(Case.id).where(Case.family_group == group)
    if not await Case.exists().where(Case.family_group == group):
        return
    if await CaseAccess.exists().where(
        CaseAccess.case.is_in(members)
        & (CaseAccess.authority == principal.authority_id)
        & CaseAccess.active.eq(True)
    ):
        return
    async with command(principal.actor) as cmd:
        cmd.audit(
            "case.family_group_refused",
            authority_id=principal.authority_id,
            changes={"field": "form.grupo_familiar_id"},
        )
    raise NotFound("form.grupo_familiar_id: no family group you can see has this id")


async def open_case(
    principal: Principal,
    form: dict[str, Any],
    identidad: dict[str, Any],
    family_of: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    if not principal.is_worker:
        raise Forbidden(f"role {principal.role} may not open cases")
    if family_of is None:
        await _may_join_group(principal, form.get("grupo_familiar_id"))
    await route_versions.register_current()  # its files, so any server can run the case
    async with command(principal.actor, now) as cmd:
        try:
            # the opener's authority type receives the child: it must receive by this channel
            engine_case = route_engine().start_case(
                form, cmd.now, variables={"autoridad_receptora": principal.authority_tipo}
            )
        except FormValidationError as exc:
            raise form_errors(exc, "$.form") from exc
        estado = form["jurisdiccion"]
        if not inegi.is_valid(estado) or estado == inegi.FEDERAL:
            raise field_error("$.form.jurisdiccion", "must be the INEGI code of a state, 01..32")
        if principal.authority_estado not in (inegi.FEDERAL, estado):
            raise field_error("$.form.jurisdiccion", "outside your authority's jurisdiction")
        group, linked = await _family_group(family_of, form, principal)
        folio = await next_folio(estado, cmd.now.year)
        opening = engine_case.forms.get("inicio_caso") or form  # the language in the catalog
        summary = {k: opening[k] for k in SUMMARY_FIELDS if k in opening}
        summary["edad"] = _age(form, cmd.now.date())
        variables = engine_case.variables
        case_row = (
            await Case.insert(
                Case(
                    folio=folio,
                    estado=estado,
                    municipio=form.get("municipio"),
                    family_group=group,
                    status="open",
                    risk=variables.get("nivel_riesgo"),
                    summary=summary,
                    variables={},  # sealed below, once the case has its id and key
                    opened_by=principal.user_id,
                    opened_by_authority=principal.authority_id,
                    opened_at=cmd.now,
                    updated_at=cmd.now,
                    spec_version=library().version,
                )
            ).returning(Case.id)
        )[0]
        case_id = case_row["id"]
        # cases per status and risk now (app/cases/figure_counts.py), in the same transaction
        await figure_counts.status_changed(None, ("open", variables.get("nivel_riesgo")))
        key = await datakeys.key_for(case_id, cmd.now)
        await Case.update(
            {Case.variables: datakeys.seal_json(key, case_id, datakeys.VARIABLES, variables)}
        ).where(Case.id == case_id)
        await personal_data.write_identity(case_id, identidad, cmd.now, insert=True)
        # the opening form, as the first page of the record (app/services/case_record.py)
        await TaskSubmission.insert(
            TaskSubmission(
                case=case_id,
                task_id=f"inicio-{case_id}",
                bpmn_id=START_FORM_ID,
                data=await personal_data.seal_form(
                    case_id, dict(engine_case.forms.get(START_FORM_ID) or form), cmd.now
                ),
                submitted_at=cmd.now,
                submitted_by=principal.user_id,
                submitted_by_authority=principal.authority_id,
            )
        )
        await WorkflowState.insert(
            WorkflowState(
                case=case_id,
                state=datakeys.seal_state(key, case_id, engine_case.dump()),
                version=1,
                spec_version=library().version,
                next_due_at=engine_case.next_due_at(),
                updated_at=cmd.now,
            )
        )
        case = CaseAggregate(
            row={
                "id": case_id,
                "folio": folio,
                "estado": estado,
                "municipio": form.get("municipio"),
                "family_group": group,
                "status": "open",
                "risk": variables.get("nivel_riesgo"),
                "variables": variables,
                "opened_by_authority_id": principal.authority_id,
                # the dashboard's figures of the case (app/cases/handlers/figures.py)
                "summary": summary,
                "opened_at": cmd.now,
                # as counted in ``case_count`` (app/cases/figure_counts.py)
                "counted": ("open", variables.get("nivel_riesgo")),
            },
            version=1,
            state=None,
            data_key=key,
            directory=await directory(),
            events=list(engine_case.events),
        )
        case._engine = engine_case
        session = CaseSession(cmd, case)
        if linked is not None and linked["family_group"] is None:
            await Case.update({Case.family_group: group}).where(Case.id == linked["id"])
            cmd.audit(
                "case.family_linked",
                case_id=linked["id"],
                case_folio=family_of,
                changes={"family_group": group},
            )
        session.audit(
            "case.opened",
            authority_id=principal.authority_id,
            changes={
                "estado": estado,
                "canal_ingreso": form.get("canal_ingreso"),
                "autoridad_receptora": variables.get("autoridad_receptora"),
                "acompanamiento_declarado": form.get("acompanamiento_declarado"),
                "family_group": group,
                **form_digest(form),
                "identity_fields": sorted(identidad),
                "spec_version": library().version,
            },
            legal_basis=_channel_source(form.get("canal_ingreso")),
        )
        await access_handler.grant(session, principal.authority_id, "opened")
        await session.commit()
    return {
        "folio": folio,
        "case_id": case_id,
        "family_group": group,
        "next_tasks": session.results.get("routed", []),
    }


def _channel_source(canal: str | None) -> str:
    """The legal source of the entry channel (config/canales_ingreso.toml)."""
    canales = route_engine().canales
    if canal in canales:
        return f"LGDNNA arts. 89-101; {canales[canal].fuente}"[:500]
    return "LM art. 112; LGDNNA arts. 89-101"


async def case_id_for(principal: Principal, folio: str) -> int:
    row = await Case.select(Case.id).where(Case.folio == folio).first()
    if row is None or not await access.can_see_case(principal, row["id"]):
        raise NotFound("case not found")
    return row["id"]


async def detail(principal: Principal, folio: str) -> dict[str, Any]:
    """Everything about a case except identity: an audited read of a child's record."""
    case_id = await case_id_for(principal, folio)
    case = (
        await Case.select(
            Case.id,
            Case.folio,
            Case.estado,
            Case.municipio,
            Case.family_group,
            Case.status,
            Case.risk,
            Case.summary,
            Case.variables,
            Case.opened_at,
            Case.updated_at,
            Case.closed_at,
            Case.end_state,
            Case.spec_version,
            Case.opened_by_authority.code.as_alias("opened_by_authority"),
        )
        .where(Case.id == case_id)
        .first()
        .output(load_json=True)
    )
    tasks = (
        await Task.select(
            Task.task_id,
            Task.bpmn_id,
            Task.name,
            Task.name_en,
            Task.process_id,
            Task.lane,
            Task.rol,
            Task.status,
            Task.due_at,
            Task.risk,
            Task.escalation_level,
            Task.authority.code.as_alias("authority"),
            Task.assignee.username.as_alias("assignee"),
            Task.completed_at,
            Task.completed_by.username.as_alias("completed_by"),
            Task.created_at,
        )
        .where(Task.case == case_id)
        .order_by(Task.id)
    )
    placements = (
        await Placement.select(
            Placement.id,
            Placement.shelter.code.as_alias("shelter"),
            Placement.kind,
            Placement.status,
            Placement.admitted_at,
            Placement.ended_at,
            Placement.destino,
        )
        .where(Placement.case == case_id)
        .order_by(Placement.id)
    )
    custody_rows = await custody.of_case(case_id)
    runs = await _runs(case_id, case)
    family = []
    if case["family_group"]:
        for row in await Case.select(Case.id, Case.folio, Case.status).where(
            (Case.family_group == case["family_group"]) & (Case.id != case_id)
        ):
            if await access.can_see_case(principal, row["id"]):
                family.append({"folio": row["folio"], "status": row["status"]})
    timeline = (
        await AuditEvent.select(
            AuditEvent.id,
            AuditEvent.at,
            AuditEvent.action,
            AuditEvent.actor_username,
            AuditEvent.actor_role,
            AuditEvent.actor_authority_code,
            AuditEvent.task_id,
            AuditEvent.changes,
            AuditEvent.legal_basis,
        )
        .where((AuditEvent.case_id == case_id) & AuditEvent.action.not_in(list(READ_ACTIONS)))
        .order_by(AuditEvent.id)
        .limit(500)
    )
    async with command(principal.actor) as cmd:
        cmd.audit("case.read", case_id=case_id, case_folio=folio)
    case["variables"] = (await personal_data.Opener.of(case_id)).variables(case.get("variables"))
    case.pop("id")
    entries = [_timeline_entry(e) for e in timeline]
    notes = await texts.of_case(case_id)
    if principal.authority_tipo == CONSULATE:
        case, tasks, entries = _without_asylum(case, tasks, entries)
        notes = []  # a reason may tell where the child sought protection
        runs = [{k: v for k, v in r.items() if k != "motivo"} for r in runs]
    return {
        "case": case,
        "tasks": tasks,
        "placements": placements,
        "custody": custody_rows,
        "family": family,
        "timeline": entries,
        "texts": notes,
        "runs": runs,
    }


async def _runs(case_id: int, case: dict[str, Any]) -> list[dict[str, Any]]:
    """The route's runs for this case (a reopening starts a new one), from its engine state."""
    state = await personal_data.engine_state(case_id)
    runs = runs_in_state(state) if state else []
    if runs and case.get("status") == "closed":
        runs[-1].setdefault("end_state", case.get("end_state"))
    return runs


#: What a consulate never reads, even when it may see the case (after a final refusal of the
#: claim): that a claim existed, its steps and its outcome (LRPCAP art. 9, confidentiality).
ASYLUM_VARIABLES = frozenset(
    {
        "asilo_pendiente",
        "contacto_consular_bloqueado",
        "estatus_proteccion",
        "indicadores_proteccion_internacional",
        "temor_retorno",
        "referencia_comar_en_curso",
    }
)
ASYLUM_PROCESS = "referencia_comar"
#: Audit actions that say a claim was wanted (app/services/late_reports.py).
ASYLUM_ACTIONS = frozenset({"case.fear_of_return_recorded"})


def _without_asylum(
    case: dict[str, Any], tasks: list[dict[str, Any]], timeline: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    hidden = {t["task_id"] for t in tasks if t["process_id"] == ASYLUM_PROCESS}
    case = case | {
        "variables": {k: v for k, v in case["variables"].items() if k not in ASYLUM_VARIABLES}
    }
    tasks = [t for t in tasks if t["task_id"] not in hidden]
    kept = []
    for entry in timeline:
        if entry["task_id"] in hidden or entry["action"] in ASYLUM_ACTIONS:
            continue
        variables = entry["changes"].get("variables")
        if isinstance(variables, dict):
            entry["changes"]["variables"] = {
                k: v for k, v in variables.items() if k not in ASYLUM_VARIABLES
            }
        kept.append(entry)
    return case, tasks, kept


def _timeline_entry(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": event["at"],
        "action": event["action"],
        "actor": event["actor_username"],
        "role": event["actor_role"],
        "authority": event["actor_authority_code"],
        "task_id": event["task_id"],
        "changes": json.loads(event["changes"] or "{}"),
        "legal_basis": event["legal_basis"],
    }


async def _identity_row(case_id: int) -> dict[str, Any] | None:
    """The case's identity, decrypted (None if it has none, or it was erased)."""
    row = (
        await CaseIdentity.select(CaseIdentity.data, CaseIdentity.updated_at)
        .where(CaseIdentity.case == case_id)
        .first()
    )
    if row is None:
        return None
    found = await personal_data.read_identities([{"case_id": case_id, "data": row["data"]}])
    if case_id not in found:
        return None
    return {"data": found[case_id], "updated_at": row["updated_at"]}


async def identity(principal: Principal, folio: str) -> dict[str, Any]:
    case_id = await case_id_for(principal, folio)
    row = await _identity_row(case_id)
    async with command(principal.actor) as cmd:
        # An account in its first days reading a child's identity is flagged for oversight
        # (separation of duties, app/services/users.py): the read an admin's own new account
        # would make.
        flag = (
            {"new_account": True}
            if users.account_is_new(principal.account_since, cmd.now)
            else None
        )
        cmd.audit("case.identity_read", case_id=case_id, case_folio=folio, changes=flag)
    return {
        "folio": folio,
        "identidad": row["data"] if row else {},
        "updated_at": row["updated_at"] if row else None,
    }


async def update_identity(principal: Principal, folio: str, identidad: dict[str, Any]) -> dict:
    case_id = await case_id_for(principal, folio)
    if not principal.is_worker:
        raise Forbidden(f"role {principal.role} is read-only")
    async with case_command(principal.actor, case_id) as s:
        changed = await correct_identity(s, case_id, identidad)
    return {"folio": folio, "changed_fields": changed}


async def correct_identity(
    s: Any, case_id: int, identidad: dict[str, Any], link: dict[str, Any] | None = None
) -> list[str]:
    """The identity correction, inside a case command ``s``: the one path that rewrites a
    child's identity (a caseworker's correction, an ARCO rectification: ``link`` names the
    request in the audit event). Returns the names of the fields that changed."""
    row = await _identity_row(case_id)
    before = row["data"] if row else {}
    changed = sorted(k for k in set(before) | set(identidad) if before.get(k) != identidad.get(k))
    exists = await CaseIdentity.exists().where(CaseIdentity.case == case_id)
    await personal_data.write_identity(case_id, identidad, s.now, insert=not exists)
    s.audit("case.identity_updated", changes={"fields": changed, **(link or {})})
    return changed


async def relocate(
    principal: Principal, folio: str, estado: str, municipio: str | None, reason: str
) -> dict[str, Any]:
    case_id = await case_id_for(principal, folio)
    if not principal.is_worker:
        raise Forbidden(f"role {principal.role} is read-only")
    async with case_command(principal.actor, case_id) as s:
        s.case.require_open()
        s.case.relocate(estado, municipio, reason, s.now)
    return {"folio": folio, "estado": estado, "municipio": municipio}


#: The message that reopens the best-interests determination (BID) on new information.
NEW_INFORMATION = "nueva_informacion_bid"


async def reconsider_bid(principal: Principal, folio: str, motivo: str) -> dict[str, Any]:
    """New information or changed circumstances: reopen the BID for reconsideration (UNHCR BIP
    2021). The route accepts it while the plan de restitución is being drawn up or carried out;
    otherwise 409 and nothing is written. Only the Procuraduría handling the case asks for it;
    the reason goes to the route, not to the audit trail (it may describe the child)."""
    case_id = await case_id_for(principal, folio)
    if not principal.is_worker or principal.authority_tipo != "PROCURADURIA":
        raise Forbidden("only the Procuraduría handling the case may reopen the BID")
    if not motivo.strip():
        raise field_error("$.motivo", "is required")
    async with case_command(principal.actor, case_id) as s:
        s.case.require_open()
        if not s.case.send_message(NEW_INFORMATION, {"motivo": motivo.strip()}, s.now):
            raise Conflict(
                "the BID can be reopened only while the plan de restitución is under way"
            )
        s.audit(
            "case.bid_reopened",
            authority_id=principal.authority_id,
            changes={"message": NEW_INFORMATION},
            legal_basis="ACNUR, Directrices sobre el procedimiento de interés superior (2021)",
        )
    return {"folio": folio, "reopened": True, "next_tasks": s.results.get("routed", [])}


async def designate_representative(
    principal: Principal, folio: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Appoint the child's representative, or replace the current one (a new appointment that
    records why; the history is kept): the same form and rules as the route's
    ``designar_representante``. Only the Procuraduría handling the case, which holds the
    representation (LGDNNA art. 106, art. 122 fr. II)."""
    case_id = await case_id_for(principal, folio)
    if not principal.is_worker or principal.authority_tipo != "PROCURADURIA":
        raise Forbidden("only the Procuraduría handling the case appoints its representative")
    async with case_command(principal.actor, case_id) as s:
        s.case.require_open()
        s.case.designate_representative(data, s.now)
        history = s.case.engine.representation
    return {"folio": folio, "representacion": [_appointment(a) for a in history]}


async def representation(principal: Principal, folio: str) -> dict[str, Any]:
    """Every appointment of the child's representative, oldest first (the last is current):
    whoever may see the case may see who represents the child. Not a read of the child's
    record (no identity, no free text about the child), so not audited."""
    case_id = await case_id_for(principal, folio)
    if not (principal.is_worker or principal.is_oversight):
        raise Forbidden(f"role {principal.role} has no access to cases")
    state = await personal_data.engine_state(case_id)
    if state:
        await route_versions.ensure_loaded(state_version(state))
    history = restore(state).representation if state else []
    return {"folio": folio, "representacion": [_appointment(a) for a in history]}


def _appointment(entry: dict[str, Any]) -> dict[str, Any]:
    """An appointment as the API shows it: who, which kind, since when, and why replaced."""
    keys = ("tipo", "fundamento_suplencia", "representacion_originaria", "representante_usuario",
            "representante_nombre", "cargo", "fecha_designacion", "desde", "motivo_sustitucion")  # fmt: skip
    return {k: entry[k] for k in keys if k in entry}


#: Who reopens a closed case: a supervisor or head of the Procuraduría (LGDNNA art. 123).
REOPENING_AUTHORITY = "PROCURADURIA"


async def reopen(
    principal: Principal, folio: str, form: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """Reopen a closed case for a reason (the form ``reabrir_caso``: a category and free text):
    a new run of the route that starts at the protection stage with the case's facts. Only a
    supervisor or head of a Procuraduría whose jurisdiction covers the child, and which may see
    the case (else 404); 409 if the case is open; 422 naming the field. The free text stays in
    the case record; the audit event ``case.reopened`` has the category, the run and who."""
    case_id = await case_id_for(principal, folio)
    if not principal.is_worker or principal.authority_tipo != REOPENING_AUTHORITY:
        raise Forbidden("only the Procuraduría reopens a closed case")
    if not principal.supervises:
        raise Forbidden("a supervisor or head of the Procuraduría reopens a closed case")
    async with case_command(principal.actor, case_id, now) as s:
        me = s.case.directory.get(principal.authority_id)
        if me is None or not me.covers(s.case.estado, s.case.municipio):
            raise Forbidden("the child is outside your Procuraduría's jurisdiction")
        run = s.case.reopen(form, s.now, principal.authority_id)
    return {
        "folio": folio,
        "status": "open",
        "run": run,
        "next_tasks": s.results.get("routed", []),
    }


# --------------------------------------------------------------------------- lists
def encode_cursor(*values: Any) -> str:
    raw = "|".join(v.isoformat() if isinstance(v, datetime) else str(v) for v in values)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
    except (ValueError, UnicodeDecodeError) as exc:
        raise field_error("$.cursor", "invalid cursor") from exc
    if len(values) != parts:
        raise field_error("$.cursor", "invalid cursor")
    return values


#: A keyset cursor's row id: ASCII digits only ("²" passes ``isdigit()`` and then broke ``int``:
#: a 500, issue 15), and within the column's range (beyond it the driver overflows: a 500 too).
_CURSOR_ID = re.compile(r"[0-9]{1,19}")
INT_MAX = 2**31 - 1  # SERIAL ids (cases, tasks)
BIGINT_MAX = 2**63 - 1  # BIGSERIAL ids (audit events)


def cursor_id(text: str, maximum: int = INT_MAX) -> int:
    """The row id a cursor carries, or 422 naming ``$.cursor``."""
    if not _CURSOR_ID.fullmatch(text) or int(text) > maximum:
        raise field_error("$.cursor", "invalid cursor")
    return int(text)


async def list_cases(
    principal: Principal,
    *,
    estado: str | None = None,
    status: str | None = None,
    family_group: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    **filters: Any,
) -> dict[str, Any]:
    """Visible cases, newest first unless sorted otherwise, without identity data (a name
    search is the exception, and it is audited): app/services/case_search.py."""
    from app.clock import utcnow

    query = case_search.CaseQuery(
        estado=estado, status=status, family_group=family_group, cursor=cursor, limit=limit,
        **filters,
    )  # fmt: skip
    return await case_search.search(principal, query, utcnow())
