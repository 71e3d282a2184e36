"""The audit trail holds actions, field names and keyed digests, never free text (issue 15,
item 4): every free-text field a person types, in every form of a whole route run and in every
API command that takes text, carries a unique marker; afterwards no audit event produced by the
run contains any marker, while the text itself is kept in the case's own records."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

from app import audit, clock
from app.principal import SYSTEM
from app.route_engine import form_example, form_schema
from app.services import calendars, personal_data, timers
from app.tables import (
    AuditEvent,
    CalendarDeclaration,
    Case,
    CaseText,
    Placement,
    StationCustody,
)
from tests.app.helpers import opening_form, user_for

MARK = "CANARIO"
#: free-text fields that steer the route (its routing, an interpreter, a follow-up period, who
#: chaired the panel: an account name): they keep the example's value
STEERING = {"municipio", "idioma", "periodicidad", "usuario"}
_serial = count(1)


def _text(max_length: int | None) -> str:
    """A marker that looks like what people type about a child: a name and a phone number."""
    text = f"{MARK}{next(_serial)} Juana Pérez, tel. 55 5010 2030"
    return text[: max_length or len(text)]


def _free_text(prop: dict[str, Any]) -> bool:
    types = prop.get("type")
    types = types if isinstance(types, list) else [types]
    return "string" in types and not any(k in prop for k in ("enum", "const", "format", "pattern"))


def mark(schema: dict[str, Any], data: Any) -> Any:
    """``data`` with every free-text string the schema allows replaced by a marker."""
    if not isinstance(data, dict):
        return data
    for name, prop in (schema.get("properties") or {}).items():
        if name not in data or not isinstance(prop, dict) or name in STEERING:
            continue
        value = data[name]
        if isinstance(value, str) and _free_text(prop):
            data[name] = _text(prop.get("maxLength"))
        elif isinstance(value, dict):
            mark(prop, value)
        elif isinstance(value, list) and isinstance(prop.get("items"), dict):
            items = prop["items"]
            data[name] = [
                _text(items.get("maxLength"))
                if isinstance(v, str) and _free_text(items)
                else mark(items, v)
                for v in value
            ]
    return data


def marked_form(bpmn_id: str) -> dict[str, Any]:
    name = f"{bpmn_id}.schema.json"
    example = form_example(name)
    marked = mark(form_schema(name), example)
    # a user name (the representative's account) must name a real account: kept as it is
    for key, value in form_example(name).items():
        if key.endswith("_usuario"):
            marked[key] = value
    return marked


async def _open(api, **form: Any) -> str:
    body = {
        "form": mark(form_schema("inicio_caso.schema.json"), opening_form("07", **form)),
        "identidad": {"nombres": _text(None), "apellidos": _text(None)},
    }
    r = await api.post("inm-07.officer", "/api/v1/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()["folio"]


async def _complete(api, folio: str, bpmn_id: str) -> None:
    task = next(t for t in await api.open_tasks(folio) if t["bpmn_id"] == bpmn_id)
    user = user_for(task["authority"], task["rol"])
    data = marked_form(bpmn_id)
    await api.consent_to_share(folio, bpmn_id, data)  # a task that shares data needs it (issue 16)
    r = await api.post(user, f"/api/v1/tasks/{task['task_id']}/complete", json={"data": data})
    assert r.status_code == 200, r.text


async def _drive_until(api, folio: str, bpmn_id: str) -> None:
    for _ in range(60):
        tasks = await api.open_tasks(folio)
        if any(t["bpmn_id"] == bpmn_id for t in tasks):
            return
        await _complete(api, folio, sorted(t["bpmn_id"] for t in tasks)[0])
    raise AssertionError(f"{bpmn_id} never became ready")


async def _whole_route(api) -> str:
    """The whole route with marked forms; once the plan de restitución is under way, a
    reconsideration of the BID with a marked reason."""
    real = clock.utcnow()
    folio = await _open(api)
    reconsidered = False
    try:
        offset = timedelta(0)
        for _ in range(250):
            tasks = await api.open_tasks(folio)
            if not reconsidered and any(t["process_id"] == "plan_restitucion" for t in tasks):
                r = await api.post(
                    "procuraduria-07.officer",
                    f"/api/v1/cases/{folio}/bid-reconsideration",
                    json={"motivo": _text(2000)},
                )
                assert r.status_code == 200, r.text
                reconsidered = True
                continue
            if tasks:
                await _complete(api, folio, sorted(t["bpmn_id"] for t in tasks)[0])
                continue
            detail = (await api.get("cndh.oversight", f"/api/v1/cases/{folio}")).json()
            if detail["case"]["status"] == "closed":
                break
            offset += timedelta(days=31)  # a follow-up wait: move the clock past it
            clock.set_clock(lambda o=offset: real + o)
            assert await timers.fire_due() >= 1
    finally:
        clock.set_clock(None)
    detail = (await api.get("cndh.oversight", f"/api/v1/cases/{folio}")).json()
    assert detail["case"]["status"] == "closed" and reconsidered
    return folio


async def _commands(api) -> dict[str, Any]:
    """Every API command that takes text, each with a marker."""
    out: dict[str, Any] = {}
    # a failed login: what was typed as the user name (perhaps a password) is not kept
    typed = f"{MARK}-password-typed-as-user-name"
    r = await api.client.post(
        "/api/v1/auth/login", json={"username": typed, "password": "x", "mode": "api"}
    )
    assert r.status_code == 401
    # relocation within the state, with its reason
    folio = await _open(api)
    out["relocated"] = folio
    reason = _text(200)
    r = await api.post(
        "inm-07.officer",
        f"/api/v1/cases/{folio}/relocate",
        json={"estado": "07", "municipio": "Comitán de Domínguez", "reason": reason},
    )
    assert r.status_code == 200, r.text
    out["relocation_reason"] = reason
    # identity corrected
    r = await api.put(
        "inm-07.officer",
        f"/api/v1/cases/{folio}/identity",
        json={"nombres": _text(None), "apellidos": _text(None), "notas": _text(2000)},
    )
    assert r.status_code == 200, r.text
    # placed, then the child leaves the placement: the circumstances
    placed = await _open(api)
    await _drive_until(api, placed, "admitir_en_cas")
    await _complete(api, placed, "admitir_en_cas")
    detail = (await api.get("procuraduria-07.officer", f"/api/v1/cases/{placed}")).json()
    placement_id = detail["placements"][0]["id"]
    circumstances = _text(100)
    r = await api.post(
        "cas-07-tapachula.shelter-staff",
        f"/api/v1/placements/{placement_id}/left",
        json={
            "fecha_hora_salida": clock.utcnow().isoformat(),
            "circunstancias": circumstances,
            "indicios_riesgo": True,
        },
    )
    assert r.status_code == 200, r.text
    out["placement_id"], out["circumstances"] = placement_id, circumstances
    # held in a migration station: its name as typed
    held = await _open(
        api, fecha_deteccion=(clock.utcnow() - timedelta(days=2)).isoformat().replace("+00:00", "Z")
    )
    await _complete(api, held, "registrar_deteccion")
    await _complete(api, held, "notificar_procuraduria")
    station = _text(200)
    r = await api.post(
        "inm-07.officer",
        f"/api/v1/cases/{held}/custody",
        json={
            "started_at": (clock.utcnow() - timedelta(days=1)).isoformat(),
            "station_name": station,
        },
    )
    assert r.status_code == 201, r.text
    out["custody_id"], out["station"] = r.json()["id"], station
    # a suspension of terms (long past, in a state no other test uses) and its reason
    r = await api.post(
        "sistema.admin",
        "/api/v1/suspensions",
        json={
            "jurisdiccion": "32",
            "desde": "2020-01-06",
            "hasta": "2020-01-07",
            "motivo": _text(500),
            "fuente": "Acuerdo del Pleno, DOF 2020-01-03",
        },
    )
    assert r.status_code == 201, r.text
    # declared non-working days (long past), withdrawn with a reason
    declared = await calendars.declare_days(
        SYSTEM,
        autoridad="IFDP",
        dias=[date(2020, 2, 3)],
        fuente="Acuerdo IFDP, DOF 2020-01-20",
        motivo=_text(500),
    )
    withdrawal = _text(500)
    await calendars.withdraw(SYSTEM, declared["id"], motivo=withdrawal)
    out["declaration_id"], out["withdrawal"] = declared["id"], withdrawal
    return out


async def test_no_audit_event_of_a_route_run_and_the_commands_holds_free_text(api):
    start = (await AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id, ascending=False))[0]
    route_folio = await _whole_route(api)
    out = await _commands(api)

    events = await AuditEvent.select().where(AuditEvent.id > start["id"]).order_by(AuditEvent.id)
    assert len(events) > 200
    leaks = sorted(
        {
            f"{e['action']}: {e['changes'][:160]}"
            for e in events
            if MARK in json.dumps({k: v for k, v in e.items() if k != "id"}, default=str)
        }
    )
    assert leaks == [], "\n".join(leaks)
    actions = {e["action"] for e in events}
    assert {
        "auth.login_failed",
        "case.relocated",
        "placement.left",
        "custody.started",
        "calendar.days_withdrawn",
        "case.bid_reopened",
    } <= actions
    assert any(e["case_folio"] == route_folio and e["action"] == "case.closed" for e in events)

    # each text is in the case's own records (or the declaration's), and the event keeps the
    # field name and a keyed digest of it
    def event(action: str) -> dict[str, Any]:
        return json.loads(next(e["changes"] for e in events if e["action"] == action))

    relocated = event("case.relocated")
    (kept,) = await CaseText.select().where(
        (CaseText.case.folio == out["relocated"]) & (CaseText.field == "reason")
    )
    # encrypted at rest with the case's data key (issue 16); the case's reader decrypts it
    assert out["relocation_reason"] not in kept["text"] and kept["action"] == "case.relocated"
    case = await Case.select(Case.id).where(Case.folio == out["relocated"]).first()
    opener = await personal_data.Opener.of(case["id"])
    assert opener.text(personal_data.TEXT, kept["text"]) == out["relocation_reason"]
    assert relocated["texts"] == {"reason": audit.keyed_digest(out["relocation_reason"])}
    left = event("placement.left")
    row = await Placement.select(Placement.end_reason).where(Placement.id == out["placement_id"])
    assert row[0]["end_reason"] == out["circumstances"]
    assert left["texts"] == {"circunstancias": audit.keyed_digest(out["circumstances"])}
    custody = event("custody.started")
    row = await StationCustody.select(StationCustody.station_name).where(
        StationCustody.id == out["custody_id"]
    )
    assert row[0]["station_name"] == out["station"]
    assert out["station"] not in json.dumps(custody)
    withdrawn = event("calendar.days_withdrawn")
    row = await CalendarDeclaration.select(CalendarDeclaration.withdrawn_reason).where(
        CalendarDeclaration.id == out["declaration_id"]
    )
    assert row[0]["withdrawn_reason"] == out["withdrawal"]
    assert withdrawn["texts"] == {"motivo": audit.keyed_digest(out["withdrawal"])}
    failed = event("auth.login_failed")
    assert set(failed["texts"]) == {"username"} and len(failed["texts"]["username"]) == 64
    assert (await audit.verify()).ok


async def test_a_failed_login_names_the_account_it_tried(api):
    """A typed name that is an account is a fact oversight needs (who is being guessed); any
    other name may be a password typed in the wrong box and is only digested."""
    r = await api.client.post(
        "/api/v1/auth/login",
        json={"username": "inm-27.officer", "password": "wrong-password", "mode": "api"},
    )
    assert r.status_code == 401
    row = (
        await AuditEvent.select(AuditEvent.changes, AuditEvent.at)
        .where(AuditEvent.action == "auth.login_failed")
        .order_by(AuditEvent.id, ascending=False)
        .first()
    )
    changes = json.loads(row["changes"])
    assert changes["account"] == "inm-27.officer"
    assert changes["texts"]["username"] == audit.keyed_digest("inm-27.officer")
    assert row["at"] > datetime.now(UTC) - timedelta(minutes=5)
