"""Authorization matrix of the pages: every page x every role x record scope, one expected status.

The same record, roles, users and scopes as ``test_authz_matrix.py`` (the JSON API's matrix), seen
through the server-rendered pages with a cookie session and the CSRF form field, as a browser
sends them. The pages call the same services as the API, so the expected answers mirror the API's,
translated to what a page answers: a write that succeeds redirects (303); no session redirects to
the login page (303 to ``/login``); a record one may not see is a 404 page; a refused action is a
403 page. A cell expecting success on a write gets a fresh record; every refused cell uses the
shared record, which must come out unchanged.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from app.route_engine import form_example, form_schema
from app.web.forms import LOCAL_TZ
from tests.app.helpers import CONSENT, NOTICE, PASSWORD
from tests.reliability.stats import STATS, count_response
from tests.reliability.test_authz_matrix import (
    ROLES,
    SCOPES,
    USERS,
    Record,
    make_record,
    release,
    snapshot,
)

pytestmark = pytest.mark.reliability

LOGIN = (303, 303, 303)  # no session: to the login page
OK = (200, 200, 200)
NO = (403, 403, 403)
OWN = (200, 404, 404)
DONE = (303, 404, 404)  # a write by the holder succeeds (redirect); anyone else: not found
HIDDEN = (404, 404, 404)
# fmt: off
PAGES: dict[tuple[str, str], dict[str, tuple[int, int, int]]] = {
    ("GET", "/inbox"):                      dict(anon=LOGIN, officer=OK, supervisor=OK, head=OK, shelter_staff=OK, oversight=NO, admin=NO, proteccion_datos=NO),
    # the Fiscalía receives children by no entry channel (config/canales_ingreso.toml)
    ("GET", "/cases/new"):                  dict(anon=LOGIN, officer=(200, 403, 200), supervisor=(200, 403, 200), head=(200, 403, 200), shelter_staff=OK, oversight=NO, admin=NO, proteccion_datos=NO),
    ("POST", "/cases/new"):                 dict(anon=LOGIN, officer=(303, 422, 422), supervisor=(303, 422, 422), head=(303, 422, 422), shelter_staff=(303, 303, 422), oversight=NO, admin=NO, proteccion_datos=NO),
    ("GET", "/cases/{folio}"):              dict(anon=LOGIN, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=OWN, oversight=OK, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("GET", "/cases/{folio}/identidad"):    dict(anon=LOGIN, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=OWN, oversight=OK, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/cases/{folio}/identidad"):   dict(anon=LOGIN, officer=DONE, supervisor=DONE, head=DONE, shelter_staff=DONE, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/cases/{folio}/relocate"):    dict(anon=LOGIN, officer=DONE, supervisor=DONE, head=DONE, shelter_staff=DONE, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    # the record is open: the page comes back with the conflict for its Procuraduría's supervisors
    ("POST", "/cases/{folio}/reopen"):      dict(anon=LOGIN, officer=(403, 404, 404), supervisor=(409, 404, 404), head=(409, 404, 404), shelter_staff=(403, 404, 404), oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("GET", "/tasks/{task}"):               dict(anon=LOGIN, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=HIDDEN, oversight=OK, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/tasks/{task}/claim"):        dict(anon=LOGIN, officer=DONE, supervisor=DONE, head=DONE, shelter_staff=HIDDEN, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/tasks/{task}/unclaim"):      dict(anon=LOGIN, officer=DONE, supervisor=DONE, head=DONE, shelter_staff=HIDDEN, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/tasks/{task}/reassign"):     dict(anon=LOGIN, officer=(403, 404, 404), supervisor=DONE, head=DONE, shelter_staff=HIDDEN, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/tasks/{task}"):              dict(anon=LOGIN, officer=DONE, supervisor=DONE, head=DONE, shelter_staff=HIDDEN, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("GET", "/shelters"):                   dict(anon=LOGIN, officer=OK, supervisor=OK, head=OK, shelter_staff=OK, oversight=OK, admin=OK, proteccion_datos=OK),
    ("GET", "/shelters/{shelter}"):         dict(anon=LOGIN, officer=OK, supervisor=OK, head=OK, shelter_staff=OK, oversight=OK, admin=OK, proteccion_datos=OK),
    ("POST", "/shelters/{shelter}/admit"):  dict(anon=LOGIN, officer=DONE, supervisor=DONE, head=DONE, shelter_staff=DONE, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/shelters/{shelter}/placements/{placement}/transfer"):  dict(anon=LOGIN, officer=DONE, supervisor=DONE, head=DONE, shelter_staff=(403, 404, 404), oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),  # a transfer is the Procuraduría's
    ("POST", "/shelters/{shelter}/placements/{placement}/discharge"): dict(anon=LOGIN, officer=DONE, supervisor=DONE, head=DONE, shelter_staff=DONE, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/shelters/{shelter}/placements/{placement}/left"):      dict(anon=LOGIN, officer=DONE, supervisor=DONE, head=DONE, shelter_staff=DONE, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/cases/{folio}/custody"):     dict(anon=LOGIN, officer=DONE, supervisor=DONE, head=DONE, shelter_staff=(403, 404, 404), oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/cases/{folio}/custody/{custody}/end"): dict(anon=LOGIN, officer=DONE, supervisor=DONE, head=DONE, shelter_staff=(403, 404, 404), oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("GET", "/notifications"):              dict(anon=LOGIN, officer=OK, supervisor=OK, head=OK, shelter_staff=OK, oversight=OK, admin=OK, proteccion_datos=OK),
    ("GET", "/audit"):                      dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=OK, proteccion_datos=NO),
    ("GET", "/audit/export"):               dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=OK, proteccion_datos=NO),
    ("GET", "/audit/verify"):               dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=OK, proteccion_datos=NO),
    ("GET", "/compliance"):                 dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=NO, proteccion_datos=NO),
    ("GET", "/compliance/rows"):            dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=NO, proteccion_datos=NO),
    ("GET", "/compliance/cases"):           dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=NO, proteccion_datos=NO),
    ("GET", "/compliance/export.csv"):      dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=NO, proteccion_datos=NO),
    ("POST", "/cases/{folio}/notes"):       dict(anon=LOGIN, officer=DONE, supervisor=DONE, head=DONE, shelter_staff=DONE, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    # the child's privacy notices and consents (issue 16), as the API's matrix says
    ("GET", "/cases/{folio}/datos-personales"):               dict(anon=LOGIN, officer=OWN, supervisor=OWN, head=OWN, shelter_staff=OWN, oversight=OK, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/cases/{folio}/datos-personales/aviso"):        dict(anon=LOGIN, officer=DONE, supervisor=DONE, head=DONE, shelter_staff=DONE, oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/cases/{folio}/datos-personales/consentimiento"): dict(anon=LOGIN, officer=DONE, supervisor=DONE, head=DONE, shelter_staff=(403, 404, 404), oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    ("POST", "/cases/{folio}/datos-personales/consentimiento/{consent}/retirar"): dict(anon=LOGIN, officer=DONE, supervisor=DONE, head=DONE, shelter_staff=(403, 404, 404), oversight=NO, admin=HIDDEN, proteccion_datos=HIDDEN),
    # the security incident log: an admin keeps it, admin and oversight read it
    # the data protection officer keeps it too (issue 16: INCIDENT_RECORDERS)
    ("GET", "/incidentes"):                 dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=OK, proteccion_datos=OK),
    ("POST", "/incidentes"):                dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=(303, 303, 303), proteccion_datos=(303, 303, 303)),
    ("POST", "/incidentes/{incident}/avisos"): dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=(303, 303, 303), proteccion_datos=(303, 303, 303)),
    # ARCO requests, the data protection view and legal holds (issue 16), as the API's matrix
    ("GET", "/proteccion-datos"):           dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=NO, proteccion_datos=OK),
    ("GET", "/proteccion-datos/seccion/arco_abiertas"): dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=NO, proteccion_datos=OK),
    ("POST", "/proteccion-datos/arco"):     dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=NO, proteccion_datos=DONE),
    ("GET", "/proteccion-datos/arco/{arco}"): dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=OK, admin=NO, proteccion_datos=OWN),
    ("POST", "/proteccion-datos/arco/{arco}/ampliar"):    dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=NO, proteccion_datos=DONE),
    ("POST", "/proteccion-datos/arco/{arco}/acceso.csv"): dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=NO, proteccion_datos=OWN),
    ("POST", "/proteccion-datos/arco/{arco}/rectificar"): dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=NO, proteccion_datos=(409, 404, 404)),
    ("POST", "/proteccion-datos/arco/{arco}/decidir"):    dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=NO, admin=NO, proteccion_datos=(409, 404, 404)),
    ("POST", "/proteccion-datos/retenciones"): dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=(303, 303, 303), admin=NO, proteccion_datos=DONE),
    ("POST", "/proteccion-datos/retenciones/{hold}/liberar"): dict(anon=LOGIN, officer=NO, supervisor=NO, head=NO, shelter_staff=NO, oversight=(303, 303, 303), admin=NO, proteccion_datos=DONE),
}
# fmt: on
#: Pages that act on the record (a fresh one for each cell that should succeed).
RECORD_WRITES = ("{folio}/", "{task}", "{placement}", "/admit", "{arco}", "{hold}")


def posted_fields(data: dict[str, Any], schema: dict[str, Any], prefix: str = "") -> list:
    """Form data as the page posts it: date-times in central Mexico time, booleans as
    true/false, enum lists as repeated fields, free lists one per line, rows with their count."""
    out: list[tuple[str, str]] = []
    props = schema.get("properties") or {}
    for key, value in data.items():
        prop, name = props.get(key) or {}, f"{prefix}{key}"
        if isinstance(value, bool):
            out.append((name, "true" if value else "false"))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            out.append((f"{name}.__rows", str(len(value))))
            for i, row in enumerate(value):
                out += posted_fields(row, prop.get("items") or {}, f"{name}.{i}.")
        elif isinstance(value, list):
            if "enum" in (prop.get("items") or {}):
                out += [(name, str(v)) for v in value]
            else:
                out.append((name, "\n".join(str(v) for v in value)))
        elif prop.get("format") == "date-time":
            at = datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(LOCAL_TZ)
            out.append((name, at.strftime("%Y-%m-%dT%H:%M")))
        else:
            out.append((name, str(value)))
    return out


def body_for(method: str, path: str, rec: Record) -> list[tuple[str, str]]:
    if method == "GET":
        return []
    if path == "/cases/new":
        form = form_example("inicio_caso.schema.json") | {
            "jurisdiccion": "07",
            "canal_ingreso": "otro",
        }
        fields = posted_fields(form, form_schema("inicio_caso.schema.json"))
        return fields + [("identidad.nombres", "Matriz"), ("identidad.apellidos", "Página")]
    if path.endswith("/identidad"):
        return [("identidad.nombres", "Matriz"), ("identidad.apellidos", f"Cambio {rec.task[:8]}")]
    if path.endswith("/relocate"):
        return [("estado", "07"), ("municipio", "Tapachula"), ("reason", "mismo lugar")]
    if path.endswith("/reopen"):
        return [("categoria", "otro"), ("motivo", "matriz")]
    if path.endswith("/reassign"):
        return [("username", "procuraduria-07.officer")]
    if path == "/tasks/{task}":
        name = f"{rec.bpmn_id}.schema.json"
        return [("_submit", "1"), *posted_fields(form_example(name), form_schema(name))]
    if path.endswith("/admit"):
        return [("folio", rec.folio)]
    if path.endswith("/transfer"):
        return [("to_shelter_id", str(rec.other_shelter)), ("reason", "matriz")]
    if path.endswith("/discharge"):
        return [("reason", "matriz"), ("destino", "familia_origen")]
    if path.endswith("/left"):
        return [("fecha_hora_salida", "2026-11-01T10:00"), ("circunstancias", "matriz")]
    if path.endswith("/custody"):
        return [("station_authority_id", str(rec.inm)), ("station_name", "matriz"),
                ("started_at", "2026-11-01T04:00")]  # fmt: skip
    if path.endswith("/end"):
        return [("ended_at", "2026-11-01T06:00")]
    if path.endswith("/notes"):
        return [("body", "nota de la matriz")]
    if path.endswith("/aviso"):
        return list(NOTICE.items())
    if path.endswith("/consentimiento"):  # a refusal: it needs no notice given before
        return list((CONSENT | {"destinatario": "oim", "decision": "rechaza"}).items())
    if path.endswith("/retirar"):
        return [("retirado_por", "nna")]
    if path == "/proteccion-datos/arco":
        return [("folio", rec.folio), ("derecho", "acceso"), ("solicitante_relacion", "nna"),
                ("solicitante_nombre", "Matriz"), ("verificacion", "comparecencia_personal"),
                ("verificacion_detalle", "matriz")]  # fmt: skip
    if path.endswith("/ampliar"):
        return [("razones", "matriz")]
    if path.endswith("/rectificar"):
        return [("nombres", "Matriz")]
    if path.endswith("/decidir"):
        return [("resultado", "procedente"), ("razones", "matriz")]
    if path == "/proteccion-datos/retenciones":
        return [("folio", rec.folio), ("motivo", "queja"), ("referencia", "matriz")]
    if path == "/incidentes":
        return [("tipo", "robo_extravio_copia"), ("descripcion", "matriz"),
                ("ocurrio_en", "2026-11-01T04:00"), ("detectado_en", "2026-11-01T05:00")]  # fmt: skip
    if path.endswith("/avisos"):
        return [("destinatario", "titulares"), ("medio", "oficio"),
                ("enviado_en", "2026-11-02T04:00")]  # fmt: skip
    return []


class PageSession:
    """One user's cookie jar against the app, as a browser without JavaScript."""

    def __init__(self, asgi_app: Any):
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=asgi_app),
            base_url="http://testserver",
            event_hooks={"response": [count_response]},
        )

    async def login(self, username: str) -> None:
        page = await self.client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = await self.client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token},
        )
        assert r.status_code == 303, (username, r.status_code, r.text[:300])

    async def send(self, method: str, url: str, fields: list[tuple[str, str]]):
        if method == "GET":
            return await self.client.get(url)
        csrf = self.client.cookies.get("careroute_csrf", "")
        return await self.client.post(
            url,
            content=urlencode([*fields, ("csrf_token", csrf)]).encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )


async def test_page_authorization_matrix(api, asgi_app):
    sessions: dict[str | None, PageSession] = {}

    async def session(username: str | None) -> PageSession:
        if username not in sessions:
            sessions[username] = PageSession(asgi_app)
            if username:
                await sessions[username].login(username)
        return sessions[username]

    shared = await make_record(api, custody=True, consent=True, incident=True, arco=True, hold=True)
    before = await snapshot(api, shared)
    failures: list[str] = []
    checked = 0
    try:
        for (method, path), row in PAGES.items():
            assert set(row) == set(ROLES), path
            for role in ROLES:
                for scope, expected in zip(SCOPES, row[role], strict=True):
                    writes = method == "POST" and any(m in path for m in RECORD_WRITES)
                    fresh = writes and expected == 303
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
                        folio=rec.folio, task=rec.task, placement=rec.placement,
                        shelter=rec.shelter, custody=rec.custody, consent=rec.consent,
                        incident=rec.incident, arco=rec.arco, hold=rec.hold,
                    )  # fmt: skip
                    user = USERS[scope][role]
                    r = await (await session(user)).send(method, url, body_for(method, path, rec))
                    checked += 1
                    if rec is not shared:
                        await release(api, rec)
                    if r.status_code != expected:
                        failures.append(
                            f"{method} {path} as {role} ({scope}, {user}): expected {expected}, "
                            f"got {r.status_code} {r.headers.get('location', '')}"
                        )
                    elif expected == 303 and role == "anon":
                        if not r.headers["location"].startswith("/login"):
                            failures.append(f"{method} {path} as anon: to {r.headers['location']}")
    finally:
        for s in sessions.values():
            await s.client.aclose()
    STATS.add("matrix_cells", checked)
    print(f"page authorization matrix: {checked} cells checked, {len(failures)} wrong")
    assert not failures, "\n".join(failures)
    assert await snapshot(api, shared) == before, "a refused page request changed the record"
    assert checked == len(PAGES) * len(ROLES) * len(SCOPES)
