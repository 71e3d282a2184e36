"""Demo data: authorities of Chiapas (07), Tabasco (27) and the federal level (00), users for
every authority and role, and cases at several stages of the route.

Cases are driven through the same services the API uses (open, complete, relocate, timers), with
each form's first example as the submitted data. Passwords are random per run unless one is given,
so a demo database never ships with known credentials. The histories of older demo cases are
backdated (their audit events carry simulated past times) so that deadlines and closure can be
shown; that is the only place careroute writes a time other than the server's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app import data_protection_rules
from app.principal import SYSTEM, Principal, role_may_do
from app.route_engine import form_example, library
from app.security import generate_password
from app.services import auth, cases, data_protection, tasks, timers, users
from app.tables import Authority, Task, WorkflowState

#: (code, name, tipo, nivel, estado, municipio, capacidad)
AUTHORITIES: list[tuple[str, str, str, str, str, str | None, int | None]] = [
    ("SISTEMA", "Operación de la plataforma", "SISTEMA", "federal", "00", None, None),
    ("CNDH", "Comisión Nacional de los Derechos Humanos", "SUPERVISION", "federal", "00", None, None),
    ("INM-00", "INM, oficinas centrales", "INM", "federal", "00", None, None),
    ("PROCURADURIA-00", "Procuraduría Federal de Protección de NNA", "PROCURADURIA", "federal", "00", None, None),
    ("COMAR-00", "COMAR, oficinas centrales", "COMAR", "federal", "00", None, None),
    ("FISCALIA-00", "Fiscalía General de la República", "FISCALIA", "federal", "00", None, None),
    ("JUZGADO-00", "Juzgado de Distrito", "JUZGADO", "federal", "00", None, None),
    ("SRE-00", "SRE, Dirección General de Protección Consular", "SRE_CONSULADO", "federal", "00", None, None),
    ("IFDP-00", "Instituto Federal de Defensoría Pública", "IFDP", "federal", "00", None, None),
    ("INM-07", "INM, Oficina de Representación en Chiapas", "INM", "estatal", "07", None, None),
    ("PROCURADURIA-07", "Procuraduría de Protección de NNA de Chiapas", "PROCURADURIA", "estatal", "07", None, None),
    ("CAS-07-TAPACHULA", "CAS DIF Chiapas, Tapachula", "DIF_CAS", "estatal", "07", "Tapachula", 40),
    ("CAS-07-TUXTLA", "CAS DIF Chiapas, Tuxtla Gutiérrez", "DIF_CAS", "estatal", "07", "Tuxtla Gutiérrez", 25),
    ("COMAR-07", "COMAR, oficina Tapachula", "COMAR", "estatal", "07", None, None),
    ("FISCALIA-07", "Fiscalía General del Estado de Chiapas", "FISCALIA", "estatal", "07", None, None),
    ("JUZGADO-07", "Juzgado familiar de Tapachula", "JUZGADO", "estatal", "07", None, None),
    ("INM-27", "INM, Oficina de Representación en Tabasco", "INM", "estatal", "27", None, None),
    ("PROCURADURIA-27", "Procuraduría de Protección de NNA de Tabasco", "PROCURADURIA", "estatal", "27", None, None),
    ("CAS-27-VILLAHERMOSA", "CAS DIF Tabasco, Villahermosa", "DIF_CAS", "estatal", "27", "Centro", 30),
    ("FISCALIA-27", "Fiscalía General del Estado de Tabasco", "FISCALIA", "estatal", "27", None, None),
]  # fmt: skip


#: Authority types whose demo authorities get a ``proteccion_datos`` account (issue 16); others
#: get one with ``careroute users create --role proteccion_datos``.
DPO_DEMO_TYPES = frozenset({"INM", "PROCURADURIA", "FISCALIA"})


def _roles_for(tipo: str) -> list[str]:
    """Every role the route gives this authority type's tasks, plus the supervisors and heads
    deadline escalations notify: so every path of the route can be finished in the demo (COMAR's
    decision, for one, is a head's task). Shelters: their staff and head. INM, Procuraduría and
    Fiscalía authorities also have their data protection officer (``proteccion_datos``)."""
    if tipo == "SISTEMA":
        return ["admin"]
    if tipo == "SUPERVISION":
        return ["oversight"]
    if tipo == "DIF_CAS":
        return ["shelter_staff", "head"]
    needed = {"officer", "supervisor", "head"} | _route_roles().get(tipo, set())
    roles = [role for role in ("officer", "supervisor", "head") if role in needed]
    # each authority (a sujeto obligado) has a data protection officer (LGPDPPSO 2025 [U]); the
    # demo gives one to the authorities that hold most records (each account costs a hash)
    return roles + (["proteccion_datos"] if tipo in DPO_DEMO_TYPES else [])


def _route_roles() -> dict[str, set[str]]:
    """Lane (authority type) -> the roles its user tasks ask for, from the loaded route."""
    out: dict[str, set[str]] = {}
    for task in library().tasks.values():
        out.setdefault(task.lane, set()).add(task.rol)
    return out


def demo_users() -> list[tuple[str, str, str]]:
    """(username, role, authority code) for every demo account. Two admins: an account an admin
    creates waits for a second admin's approval (app/services/users.py)."""
    out = []
    for code, _name, tipo, *_ in AUTHORITIES:
        for role in _roles_for(tipo):
            out.append((f"{code.lower()}.{role.replace('_', '-')}", role, code))
    out.append(("sistema.admin-2", "admin", "SISTEMA"))
    return out


@dataclass
class DemoResult:
    credentials: list[dict[str, str]]
    cases: list[dict[str, Any]]


async def seed_accounts(password: str | None = None) -> list[dict[str, str]]:
    """Create the demo authorities and users; returns their credentials."""
    for code, name, tipo, nivel, estado, municipio, capacidad in AUTHORITIES:
        await users.create_authority(
            SYSTEM,
            None,
            code=code,
            name=name,
            tipo=tipo,
            nivel=nivel,
            estado=estado,
            municipio=municipio,
            capacidad=capacidad,
        )
    credentials = []
    for username, role, code in demo_users():
        secret = password or generate_password()
        await users.create_user(
            SYSTEM,
            None,
            username=username,
            display_name=f"{role} · {code}",
            role=role,
            authority_code=code,
            password=secret,
            via="demo",
        )
        credentials.append(
            {"username": username, "password": secret, "role": role, "authority": code}
        )
    return credentials


class Driver:
    """Moves demo cases along the route as the right users would."""

    def __init__(self) -> None:
        self._principals: dict[str, Principal] = {}
        self._by_authority: dict[int, list[tuple[str, str]]] = {}

    async def load(self) -> None:
        rows = await Authority.select(Authority.id, Authority.code, Authority.tipo)
        code_of = {r["id"]: r["code"] for r in rows}
        for username, role, code in demo_users():
            aid = next(i for i, c in code_of.items() if c == code)
            self._by_authority.setdefault(aid, []).append((username, role))

    async def principal(self, username: str) -> Principal:
        if username not in self._principals:
            self._principals[username] = await auth.principal_for_user(username)
        return self._principals[username]

    async def worker_for(self, authority_id: int, rol: str, tipo: str) -> Principal:
        order = {"officer": 0, "shelter_staff": 0, "supervisor": 1, "head": 2}
        candidates = sorted(
            (u for u in self._by_authority.get(authority_id, []) if role_may_do(u[1], tipo, rol)),
            key=lambda u: order.get(u[1], 9),
        )
        if not candidates:
            raise RuntimeError(f"no demo user of authority {authority_id} may do rol {rol}")
        return await self.principal(candidates[0][0])

    async def open(
        self, username: str, now: datetime, estado: str, municipio: str, name: str, **kw: Any
    ) -> str:
        """Open a case as ``username`` (``canal``: the entry channel; the example's, INM's
        migration check, by default)."""
        form = form_example("inicio_caso.schema.json")
        form.update(
            jurisdiccion=estado,
            municipio=municipio,
            fecha_deteccion=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        if kw.get("canal"):
            form["canal_ingreso"] = kw["canal"]
        result = await cases.open_case(
            await self.principal(username),
            form,
            {"nombres": name, "apellidos": "(demo)"},
            kw.get("family_of"),
            now=now,
        )
        return result["folio"]

    async def drive(
        self, folio: str, now: datetime, until: str | None, limit: datetime
    ) -> datetime:
        """Complete ready tasks (form examples) until ``until`` is ready or the case closes."""
        case_id = (await cases.Case.select(cases.Case.id).where(cases.Case.folio == folio))[0]["id"]
        for _ in range(300):
            ready = await Task.select(
                Task.task_id,
                Task.bpmn_id,
                Task.rol,
                Task.lane,
                Task.authority,
            ).where((Task.case == case_id) & (Task.status == "open"))
            if until and any(t["bpmn_id"] == until for t in ready):
                return now
            if not ready:
                state = (
                    await WorkflowState.select(WorkflowState.next_due_at)
                    .where(WorkflowState.case == case_id)
                    .first()
                )
                due = state and state["next_due_at"]
                if due is None or due > limit:
                    return now
                now = max(now, due) + timedelta(seconds=1)
                await timers.fire_due(now)
                continue
            task = sorted(ready, key=lambda t: t["bpmn_id"])[0]
            worker = await self.worker_for(task["authority_id"], task["rol"], task["lane"])
            now += timedelta(hours=1)
            data = form_example(f"{task['bpmn_id']}.schema.json", facts_at=now)
            await self.consent_to_share(folio, task["bpmn_id"], data, now)
            await tasks.complete(worker, task["task_id"], data, now=now)
        return now

    async def consent_to_share(
        self, folio: str, bpmn_id: str, data: dict[str, Any], now: datetime
    ) -> None:
        """A task that shares the child's data with a third party needs the consent on file
        (issue 16): the Procuraduría gives the privacy notice and records it first, as a
        caseworker would."""
        recipients = data_protection_rules.recipients_of(bpmn_id, data)
        if not recipients:
            return
        officer = await self.principal("procuraduria-07.officer")
        await data_protection.give_notice(
            officer,
            folio,
            {
                "version": data_protection_rules.rules().notice_versions[0],
                "modalidad": "simplificado",
                "idioma": "espanol",
                "forma_explicacion": "verbal_lenguaje_sencillo",
                "entregado_a": "nna",
                "nna_comprende": "si",
                "explicado_en": now,
            },
            now=now,
        )
        represented = bool((await cases.representation(officer, folio))["representacion"])
        both = {"otorgado_por": "nna_y_representante", "opinion_representante": "de_acuerdo"}
        for recipient in recipients:
            await data_protection.record_consent(
                officer,
                folio,
                {
                    "destinatario": recipient,
                    "destinatario_nombre": f"{recipient} (demo)",
                    "finalidad": "localizacion_familiar",
                    "decision": "consiente",
                    "otorgado_por": "nna",
                    "forma": "escrito_firma",
                    "opinion_nna": "de_acuerdo",
                    "expresado_en": now,
                }
                | (both if represented else {}),
                now=now,
            )


async def run(password: str | None = None) -> DemoResult:
    if await Authority.count() > 0:
        raise RuntimeError("this database already has authorities; use a fresh --db for the demo")
    credentials = await seed_accounts(password)
    driver = Driver()
    await driver.load()
    real_now = datetime.now(UTC).replace(microsecond=0)
    inm = "inm-07.officer"
    made: list[dict[str, Any]] = []

    async def case(stage: str, start_days_ago: float, until: str | None, name: str, **kw: Any):
        start = real_now - timedelta(days=start_days_ago)
        folio = await driver.open(
            kw.pop("by", inm), start, kw.pop("estado", "07"), "Tapachula", name, **kw
        )
        if until != "registrar_deteccion":
            await driver.drive(folio, start, until, real_now)
        made.append({"folio": folio, "stage": stage})
        return folio

    await case("detected: INM registers the detection", 0.1, "registrar_deteccion", "Ana")
    await case("Procuraduría determines accompaniment", 1, "determinar_acompanamiento", "Luis")
    await case("in CAS Tapachula: needs screening", 3, "detectar_necesidades", "Karla")
    older = await case("best-interests assessment awaiting approval", 10, "aprobar_bia", "Brenda")
    await case(
        "sibling of the previous case (same family group)",
        10,
        "emitir_acta_canalizacion",
        "Josué",
        family_of=older,
    )
    moved = await case("relocated from Chiapas to Tabasco", 2, "determinar_acompanamiento", "Eva")
    await cases.relocate(
        await driver.principal("procuraduria-07.officer"), moved, "27", "Centro", "demo relocation"
    )
    await case("closed after reunification and follow-up", 150, None, "Dulce")
    # Entry channels other than INM (issue 12): no INM task before protection.
    await case(
        "presented at a DIF shelter: the shelter notifies the Procuraduría",
        0.1,
        "notificar_recepcion_dif",
        "Irene",
        by="cas-07-tapachula.shelter-staff",
        canal="autopresentacion_dif",
    )
    await case(
        "presented at COMAR to ask for refugee status: the Procuraduría records the reception",
        0.2,
        "registrar_recepcion",
        "Omar",
        by="comar-07.officer",
        canal="autopresentacion_comar",
    )
    await case(
        "referred by a civil-society shelter: in protection, INM being informed",
        1,
        "determinar_acompanamiento",
        "Sofía",
        by="procuraduria-07.officer",
        canal="canalizacion_albergue_osc",
    )
    reopened = await case("reopened after the family reunification broke down", 150, None, "Tere")
    await cases.reopen(
        await driver.principal("procuraduria-07.supervisor"),
        reopened,
        {"categoria": "reunificacion_fallida", "motivo": "La familia ya no puede cuidarla."},
        now=real_now,
    )
    return DemoResult(credentials, made)
