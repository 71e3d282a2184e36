"""Authorization matrix: every endpoint x every role x record scope, one expected status each.

The record is one child's case in Chiapas (07), opened by INM-07 and moved on until its open task
``determinar_acompanamiento`` is routed to PROCURADURIA-07, with the child placed in
CAS-07-TAPACHULA. Scopes say who asks about it:

- ``own``: the authority holding it: PROCURADURIA-07 (officer, supervisor, head), the shelter
  CAS-07-TAPACHULA (shelter staff: it sees the child, but the open task is the Procuraduría's);
- ``other_authority``: another authority of the same state: FISCALIA-07, CAS-07-TUXTLA;
- ``other_state``: the same kind of authority in Tabasco: PROCURADURIA-27, CAS-27-VILLAHERMOSA.

Oversight (CNDH) and admin (SISTEMA) are national: the same account in every scope. The data
protection officer (``proteccion_datos``, issue 16) of PROCURADURIA-07, FISCALIA-07 and
PROCURADURIA-27 sees no casework of a record that is not blocked: every case cell answers as for
someone who may not see it, and the case list shows only blocked records (none here). ``anon`` sends
no credentials. A cell expecting 2xx on a write gets a fresh record, so a success never changes
what the next cell sees; every other cell uses the shared record, which must come out unchanged.
``GET /cases`` additionally checks the list leaks nothing: the folio is listed exactly where the
detail answers 200.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from app.route_engine import form_example, form_schema
from tests.app.helpers import CONSENT, NOTICE, PASSWORD, opening_form
from tests.reliability.stats import STATS

pytestmark = pytest.mark.reliability

ROLES = (
    "anon", "officer", "supervisor", "head", "shelter_staff", "oversight", "admin",
    "proteccion_datos",
)  # fmt: skip
SCOPES = ("own", "other_authority", "other_state")
USERS: dict[str, dict[str, str | None]] = {
    "own": {
        "anon": None,
        "officer": "procuraduria-07.officer",
        "supervisor": "procuraduria-07.supervisor",
        "head": "procuraduria-07.head",
        "shelter_staff": "cas-07-tapachula.shelter-staff",
        "oversight": "cndh.oversight",
        "admin": "sistema.admin",
        "proteccion_datos": "procuraduria-07.proteccion-datos",
    },
    "other_authority": {
        "anon": None,
        "officer": "fiscalia-07.officer",
        "supervisor": "fiscalia-07.supervisor",
        "head": "fiscalia-07.head",
        "shelter_staff": "cas-07-tuxtla.shelter-staff",
        "oversight": "cndh.oversight",
        "admin": "sistema.admin",
        "proteccion_datos": "fiscalia-07.proteccion-datos",
    },
    "other_state": {
        "anon": None,
        "officer": "procuraduria-27.officer",
        "supervisor": "procuraduria-27.supervisor",
        "head": "procuraduria-27.head",
        "shelter_staff": "cas-27-villahermosa.shelter-staff",
        "oversight": "cndh.oversight",
        "admin": "sistema.admin",
        "proteccion_datos": "procuraduria-27.proteccion-datos",
    },
}

# Expected status per (method, path) x role, as (own, other_authority, other_state).
# {folio} {task} {placement} {shelter} {other_shelter} are the record's; {form} is a form name.
A = (401, 401, 401)  # no credentials
OK = (200, 200, 200)
NO = (403, 403, 403)
OWN = (200, 404, 404)  # the holder sees it; anyone else: as if it did not exist
HIDDEN = (404, 404, 404)
# fmt: off
MATRIX: dict[tuple[str, str], dict[str, tuple[int, int, int]]] = {
    #                                          anon  officer      supervisor   head         shelter_staff  oversight  admin
    ("GET", "/api/v1/auth/me"):                dict(anon=A, officer=OK, supervisor=OK, head=OK, shelter_staff=OK, oversight=OK, admin=OK, proteccion_datos=OK),
    ("GET", "/api/v1/me"):                     dict(anon=A, officer=OK, supervisor=OK, head=OK, shelter_staff=OK, oversight=OK, admin=OK, proteccion_datos=OK),
    ("POST", "/api/v1/auth/logout"):           dict(anon=A, officer=OK, supervisor=OK, head=OK, shelter_staff=OK, oversight=OK, admin=OK, proteccion_datos=OK),
    # opened by the channel "otro", which the Procuraduría, INM, DIF and COMAR receive: the Fiscalía
    # receives children by no channel (422 canal_ingreso), another state is out of jurisdiction
    ("POST", "/api/v1/cases"):                 dict(anon=A, officer=(201, 422, 422), supervisor=(201, 422, 422), head=(201, 422, 422), shelter_staff=(201, 201, 422), oversight=NO, admin=NO, proteccion_datos=NO),
    ("GET", "/api/v1/cases"):                  dict(anon=A, officer=OK, supervisor=OK, head=OK, shelter_staff=OK, oversight=OK, admin=NO, proteccion_datos=OK),
    ("GET", "/api/v1/cases/{folio}"):          dict(anon=A, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=OWN, oversight=OK, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("GET", "/api/v1/cases/{folio}/identity"): dict(anon=A, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=OWN, oversight=OK, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("PUT", "/api/v1/cases/{folio}/identity"): dict(anon=A, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=OWN, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/api/v1/cases/{folio}/relocate"): dict(anon=A, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=OWN, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("GET", "/api/v1/cases/{folio}/representative"):  dict(anon=A, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=OWN, oversight=OK, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/api/v1/cases/{folio}/representative"): dict(anon=A, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=(403, 404, 404), oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),  # the Procuraduría represents the child
    # the record is open: its Procuraduría's supervisors and heads get 409, nobody else may
    ("POST", "/api/v1/cases/{folio}/reopen"):  dict(anon=A, officer=(403, 404, 404), supervisor=(409, 404, 404), head=(409, 404, 404), shelter_staff=(403, 404, 404), oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("GET", "/api/v1/forms/{form}"):           dict(anon=A, officer=OK, supervisor=OK, head=OK, shelter_staff=OK, oversight=OK, admin=OK, proteccion_datos=OK),
    ("GET", "/api/v1/inbox"):                  dict(anon=A, officer=OK, supervisor=OK, head=OK, shelter_staff=OK, oversight=NO, admin=NO, proteccion_datos=NO),
    ("GET", "/api/v1/tasks/{task}"):           dict(anon=A, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=HIDDEN, oversight=OK, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/api/v1/tasks/{task}/claim"):    dict(anon=A, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=HIDDEN, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/api/v1/tasks/{task}/unclaim"):  dict(anon=A, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=HIDDEN, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/api/v1/tasks/{task}/reassign"): dict(anon=A, officer=(403, 404, 404), supervisor=OWN, head=OWN, shelter_staff=HIDDEN, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/api/v1/tasks/{task}/complete"): dict(anon=A, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=HIDDEN, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/api/v1/placements"):            dict(anon=A, officer=(201, 404, 404), supervisor=(201, 404, 404), head=(201, 404, 404), shelter_staff=(201, 404, 404), oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/api/v1/placements/{placement}/transfer"):  dict(anon=A, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=(403, 404, 404), oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),  # a transfer is the Procuraduría's
    ("POST", "/api/v1/placements/{placement}/discharge"): dict(anon=A, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=OWN, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/api/v1/placements/{placement}/left"):      dict(anon=A, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=OWN, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/api/v1/cases/{folio}/custody"): dict(anon=A, officer=(201, 404, 404), supervisor=(201, 404, 404), head=(201, 404, 404), shelter_staff=(403, 404, 404), oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/api/v1/custody/{custody}/end"): dict(anon=A, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=(403, 404, 404), oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("GET", "/api/v1/shelters"):               dict(anon=A, officer=OK, supervisor=OK, head=OK, shelter_staff=OK, oversight=OK, admin=OK, proteccion_datos=OK),
    ("GET", "/api/v1/shelters/{shelter}/children"): dict(anon=A, officer=OK, supervisor=OK, head=OK, shelter_staff=OK, oversight=OK, admin=OK, proteccion_datos=OK),
    ("GET", "/api/v1/audit"):                  dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=OK, proteccion_datos=NO),
    ("GET", "/api/v1/audit/export"):           dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=OK, proteccion_datos=NO),
    ("GET", "/api/v1/audit/verify"):           dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=OK, proteccion_datos=NO),
    ("GET", "/api/v1/audit/checkpoints"):      dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=OK, proteccion_datos=NO),
    ("GET", "/api/v1/authorities"):            dict(anon=A, officer=OK, supervisor=OK, head=OK, shelter_staff=OK, oversight=OK, admin=OK, proteccion_datos=OK),
    ("POST", "/api/v1/authorities"):           dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=(201, 201, 201), proteccion_datos=NO),
    ("GET", "/api/v1/users"):                  dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=OK, proteccion_datos=NO),
    ("POST", "/api/v1/users"):                 dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=(201, 201, 201), proteccion_datos=NO),
    ("POST", "/api/v1/users/nadie.matriz/approve"): dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=HIDDEN, proteccion_datos=NO),
    ("POST", "/api/v1/users/nadie.matriz/reject"):  dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=HIDDEN, proteccion_datos=NO),
    ("GET", "/api/v1/oversight/accounts"):     dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=NO, proteccion_datos=NO),
    # the child's privacy notices and consents (issue 16): whoever sees the case reads them (not a
    # consulate); the Procuraduría records consents; any caseworker with the case gives a notice
    ("GET", "/api/v1/cases/{folio}/data-protection"):   dict(anon=A, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=OWN, oversight=OK, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/api/v1/cases/{folio}/privacy-notices"):  dict(anon=A, officer=(201, 404, 404), supervisor=(201, 404, 404), head=(201, 404, 404), shelter_staff=(201, 404, 404), oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/api/v1/cases/{folio}/consents"):         dict(anon=A, officer=(201, 404, 404), supervisor=(201, 404, 404), head=(201, 404, 404), shelter_staff=(403, 404, 404), oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/api/v1/cases/{folio}/consents/{consent}/withdraw"): dict(anon=A, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=(403, 404, 404), oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    # the security incident log: an admin keeps it, admin and oversight read it
    # the data protection officer keeps it too (issue 16: INCIDENT_RECORDERS)
    ("GET", "/api/v1/security-incidents"):      dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=OK, proteccion_datos=OK),
    ("POST", "/api/v1/security-incidents"):     dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=(201, 201, 201), proteccion_datos=(201, 201, 201)),
    ("POST", "/api/v1/security-incidents/{incident}/notices"): dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=(201, 201, 201), proteccion_datos=(201, 201, 201)),
    # ARCO requests (issue 16, item 3): the data protection officer of the authority holding the
    # case (PROCURADURIA-07) registers and answers; another authority's: 404; oversight reads.
    # The record's request is an access request: a correction or a decision on it is a 409.
    ("GET", "/api/v1/arco-requests"):             dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=NO, proteccion_datos=OK),
    ("POST", "/api/v1/arco-requests"):            dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=NO, proteccion_datos=(201, 404, 404)),
    ("GET", "/api/v1/arco-requests/{arco}"):      dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=NO, proteccion_datos=OWN),
    ("POST", "/api/v1/arco-requests/{arco}/extend"):     dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=NO, proteccion_datos=OWN),
    ("POST", "/api/v1/arco-requests/{arco}/access"):     dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=NO, proteccion_datos=OWN),
    ("POST", "/api/v1/arco-requests/{arco}/access.csv"): dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=NO, proteccion_datos=OWN),
    ("POST", "/api/v1/arco-requests/{arco}/rectify"):    dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=NO, proteccion_datos=(409, 404, 404)),
    ("POST", "/api/v1/arco-requests/{arco}/decide"):     dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=NO, proteccion_datos=(409, 404, 404)),
    # the data protection view (item 5) and legal holds: data protection officers and oversight
    ("GET", "/api/v1/data-protection/overview"):  dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=NO, proteccion_datos=OK),
    ("GET", "/api/v1/data-protection/overview/arco_vencidas"): dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=NO, proteccion_datos=OK),
    ("GET", "/api/v1/data-protection/legal-holds"):  dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=NO, proteccion_datos=OK),
    ("POST", "/api/v1/cases/{folio}/legal-holds"):   dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=(201, 201, 201), admin=NO, proteccion_datos=(201, 404, 404)),
    ("POST", "/api/v1/data-protection/legal-holds/{hold}/lift"): dict(anon=A, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=NO, proteccion_datos=OWN),
}
# fmt: on
#: Endpoints that act on the record (a fresh one for each cell that should succeed).
RECORD_WRITES = (
    "{folio}/",
    "{task}",
    "{placement}",
    "/api/v1/placements",
    "{custody}",
    "{arco}",
    "{hold}",
)  # fmt: skip


@dataclass
class Record:
    folio: str
    task: str
    bpmn_id: str
    placement: int
    shelter: int
    other_shelter: int
    inm: int  # INM-07, the authority that runs the station of a custody record
    custody: int | None = None  # the child's open custody record, when the record has one
    consent: int | None = None  # a consent to share the child's data, when the record has one
    incident: int | None = None  # a security incident naming the record
    arco: int | None = None  # an ARCO access request about the record
    hold: int | None = None  # a legal hold on the record


_serial = itertools.count(1)
ARCO = {
    "derecho": "acceso",
    "solicitante_relacion": "nna",
    "solicitante_nombre": "Matriz",
    "verificacion": "comparecencia_personal",
    "verificacion_detalle": "matriz",
}
DPO_OWN = "procuraduria-07.proteccion-datos"
INCIDENT = {
    "tipo": "robo_extravio_copia",
    "descripcion": "Matriz",
    "ocurrio_en": "2026-11-01T10:00:00Z",
    "detectado_en": "2026-11-01T11:00:00Z",
}


def body_for(method: str, path: str, rec: Record) -> Any:
    n = next(_serial)
    if method == "GET":
        return None
    if path == "/api/v1/cases":
        return {
            "form": opening_form("07", canal_ingreso="otro"),
            "identidad": {"nombres": "Matriz", "apellidos": "P"},
        }
    if path.endswith("/reopen"):
        return {"categoria": "otro", "motivo": "matriz"}
    if path.endswith("/identity"):
        return {"nombres": "Matriz", "apellidos": f"Cambio {n}"}
    if path.endswith("/relocate"):
        return {"estado": "07", "municipio": "Tapachula", "reason": "same place"}
    if path.endswith("/representative"):
        return {"data": form_example("designar_representante.schema.json")}
    if path.endswith("/reassign"):
        return {"username": "procuraduria-07.officer"}
    if path.endswith("/complete"):
        return {"data": form_example(f"{rec.bpmn_id}.schema.json")}
    if path == "/api/v1/placements":
        return {"folio": rec.folio, "shelter_id": rec.shelter}
    if path.endswith("/transfer"):
        return {"to_shelter_id": rec.other_shelter, "reason": "matrix"}
    if path.endswith("/discharge"):
        return {"reason": "matrix", "destino": "familia_origen"}
    if path.endswith("/left"):
        return {"fecha_hora_salida": "2026-11-01T10:00:00Z", "circunstancias": "matrix"}
    if path.endswith("/custody"):
        return {"started_at": "2026-11-01T10:00:00Z", "station_name": "matriz",
                "station_authority_id": rec.inm}  # fmt: skip
    if path.endswith("/end"):
        return {"ended_at": "2026-11-01T12:00:00Z"}
    if path.endswith("/privacy-notices"):
        return NOTICE
    if path.endswith("/consents"):  # a refusal: it needs no notice given before
        return CONSENT | {"destinatario": "oim", "decision": "rechaza"}
    if path.endswith("/withdraw"):
        return {"retirado_por": "nna"}
    if path == "/api/v1/security-incidents":
        return INCIDENT
    if path == "/api/v1/arco-requests":
        return ARCO | {"folio": rec.folio}
    if path.endswith("/extend"):
        return {"razones": "matriz"}
    if path.endswith("/rectify"):
        return {"identidad": {"nombres": "Matriz"}}
    if path.endswith("/decide"):
        return {"resultado": "procedente", "razones": "matriz"}
    if path.endswith("/legal-holds"):
        return {"motivo": "queja", "referencia": f"Queja {n}"}
    if path.endswith("/notices"):
        return {"destinatario": "autoridad_garante", "medio": "oficio",
                "enviado_en": "2026-11-02T10:00:00Z"}  # fmt: skip
    if path == "/api/v1/authorities":
        return {"code": f"IFDP-09-M{n}", "name": "Matriz", "tipo": "IFDP", "nivel": "estatal",
                "estado": "09"}  # fmt: skip
    if path == "/api/v1/users":
        return {"username": f"matriz.user{n}", "display_name": "Matriz", "role": "officer",
                "authority": "INM-27", "password": "matrix-password-123"}  # fmt: skip
    return None


async def make_record(
    api,
    custody: bool = False,
    consent: bool = False,
    incident: bool = False,
    arco: bool = False,
    hold: bool = False,
) -> Record:
    """The matrix's record; ``custody``: the child is also held in a migration station (an open
    custody record, for the cells that end one); ``consent``: a consent to share its data is on
    file (for the cells that withdraw one); ``incident``: a security incident names it."""
    folio = await api.open_case("inm-07.officer", name="Matriz")
    await api.complete(
        folio, "registrar_deteccion", riesgo_inminente=True, descripcion_riesgo="Matriz"
    )
    for bpmn_id in ("notificar_procuraduria", "emitir_acta_canalizacion"):
        await api.complete(folio, bpmn_id)
    # A shelter admits only with a protection measure: the Procuraduría orders an urgent one
    # itself (LGDNNA art. 122 fr. VII); the judge's ratification then waits.
    order = form_schema("ordenar_medida_urgente.schema.json")["examples"][1]
    await api.complete(folio, "ordenar_medida_urgente", **order)
    (task,) = [t for t in await api.open_tasks(folio) if t["authority"] == "PROCURADURIA-07"]
    assert task["bpmn_id"] == "determinar_acompanamiento"
    shelters = {
        s["code"]: s["id"] for s in (await api.get("cndh.oversight", "/api/v1/shelters")).json()
    }
    tap, tux = shelters["CAS-07-TAPACHULA"], shelters["CAS-07-TUXTLA"]
    r = await api.post(
        "procuraduria-07.officer", "/api/v1/placements", json={"folio": folio, "shelter_id": tap}
    )
    assert r.status_code == 201, r.text
    authorities = (await api.get("cndh.oversight", "/api/v1/authorities")).json()
    inm = next(a["id"] for a in authorities if a["code"] == "INM-07")
    rec = Record(folio, task["task_id"], task["bpmn_id"], r.json()["id"], tap, tux, inm)
    if custody:
        r = await api.post(
            "inm-07.officer",
            f"/api/v1/cases/{folio}/custody",
            json={"started_at": "2026-11-01T08:00:00Z", "station_name": "Matriz"},
        )
        assert r.status_code == 201, r.text
        rec.custody = r.json()["id"]
    if consent:
        base = f"/api/v1/cases/{folio}"
        r = await api.post("procuraduria-07.officer", f"{base}/privacy-notices", json=NOTICE)
        assert r.status_code == 201, r.text
        body = CONSENT | {"destinatario": "acnur"}
        r = await api.post("procuraduria-07.officer", f"{base}/consents", json=body)
        assert r.status_code == 201, r.text
        rec.consent = r.json()["consent_id"]
    if incident:
        r = await api.post(
            "sistema.admin", "/api/v1/security-incidents", json=INCIDENT | {"folios": [folio]}
        )
        assert r.status_code == 201, r.text
        rec.incident = r.json()["incident_id"]
    if arco:
        r = await api.post(DPO_OWN, "/api/v1/arco-requests", json=ARCO | {"folio": folio})
        assert r.status_code == 201, r.text
        rec.arco = r.json()["id"]
    if hold:
        r = await api.post(
            DPO_OWN, f"/api/v1/cases/{folio}/legal-holds",
            json={"motivo": "litigio", "referencia": "Matriz"},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        rec.hold = r.json()["id"]
    return rec


async def release(api: Any, rec: Record) -> None:
    """Discharge a fresh record's child, so the matrix never fills the shelter it tests."""
    detail = (await api.get("cndh.oversight", f"/api/v1/cases/{rec.folio}")).json()
    for placement in detail["placements"]:
        if placement["status"] == "admitted":
            r = await api.post(
                "procuraduria-07.officer",
                f"/api/v1/placements/{placement['id']}/discharge",
                json={"reason": "fin de la celda de la matriz", "destino": "familia_origen"},
            )
            assert r.status_code == 200, r.text


async def snapshot(api, rec: Record) -> Any:
    r = await api.get("cndh.oversight", f"/api/v1/cases/{rec.folio}")
    body = r.json()
    tasks = [(t["task_id"], t["status"], t["assignee"]) for t in body["tasks"]]
    placements = [(p["id"], p["status"]) for p in body["placements"]]
    custody = [(k["id"], k["ended_at"]) for k in body["custody"]]
    ident = (await api.get("cndh.oversight", f"/api/v1/cases/{rec.folio}/identity")).json()
    return (body["case"]["estado"], body["case"]["status"], tasks, placements, custody,
            ident["identidad"])  # fmt: skip


async def call(api, username: str | None, method: str, url: str, body: Any):
    if username is None:
        # anonymous means no credentials at all: the shared client must hold no session cookie
        assert not api.client.cookies.get("careroute_session"), "a test left a session cookie"
        headers = {}
    elif url.endswith("/auth/logout"):  # a throwaway token: logging out must not end the suite's
        r = await api.client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD, "mode": "api"}
        )
        headers = {"Authorization": f"Bearer {r.json()['token']}"}
    else:
        headers = await api.headers(username)
    params = {"limit": 200} if url == "/api/v1/cases" else None
    return await api.client.request(method, url, headers=headers, json=body, params=params)


async def test_authorization_matrix(api):
    shared = await make_record(api, custody=True, consent=True, incident=True, arco=True, hold=True)
    before = await snapshot(api, shared)
    failures: list[str] = []
    checked = 0
    for (method, path), row in MATRIX.items():
        assert set(row) == set(ROLES), path
        for role in ROLES:
            for scope, expected in zip(SCOPES, row[role], strict=True):
                writes = method != "GET" and any(m in path for m in RECORD_WRITES)
                fresh = writes and 200 <= expected < 300
                rec = (
                    await make_record(
                        api,
                        "{custody}" in path,
                        "{consent}" in path,
                        arco="{arco}" in path,
                        hold="{hold}" in path,
                    )
                    if fresh
                    else shared
                )
                url = path.format(
                    folio=rec.folio,
                    task=rec.task,
                    placement=rec.placement,
                    shelter=rec.shelter,
                    custody=rec.custody,
                    consent=rec.consent,
                    incident=rec.incident,
                    arco=rec.arco,
                    hold=rec.hold,
                    form="inicio_caso",
                )
                user = USERS[scope][role]
                r = await call(api, user, method, url, body_for(method, path, rec))
                checked += 1
                if rec is not shared:
                    await release(api, rec)
                if r.status_code != expected:
                    failures.append(
                        f"{method} {path} as {role} ({scope}, {user}): expected {expected}, "
                        f"got {r.status_code} {r.text[:200]}"
                    )
                elif path == "/api/v1/cases" and method == "GET" and expected == 200:
                    listed = rec.folio in [c["folio"] for c in r.json()["items"]]
                    # the data protection officer lists only blocked records: not this one
                    sees = (scope == "own" and role != "proteccion_datos") or role == "oversight"
                    if listed != sees:
                        failures.append(f"GET /cases as {role} ({scope}): listed={listed}")
    STATS.add("matrix_cells", checked)
    print(f"authorization matrix: {checked} cells checked, {len(failures)} wrong")
    assert not failures, "\n".join(failures)
    assert await snapshot(api, shared) == before, "a refused request changed the shared record"
    assert checked == len(MATRIX) * len(ROLES) * len(SCOPES)
