"""Migrating a case that is deep in the route (issue 13 item 7, the edges).

Every case here is walked on the real route to a point where it is inside something: the BID
panel's sequential vote (``bid_votacion``, a multi-instance subprocess inside the call activity
``panel_bid`` inside the embedded subprocess ``proteccion``), the plan's parallel follow-ups
(``ejecutar_medidas``, some instances done, one waiting on its periodicity timer, one ready), the
missing-child protocol (a call activity) waiting on a report whose legal deadline already
escalated, and a prosecutor's notice inside ``proteccion`` waiting with its deadline armed. The
target version is the shipped route with the elements at each of those levels renamed, as an
analyst's edit would (``RENAMES``). For each: the dry plan blocks it naming what it reached; the
mapping unblocks it; after the move the case keeps its task ids, deadlines (same due instant,
same register key, escalations not restarted) and goes on correctly on the new version.

The target engine is loaded fresh, as a server that just started or just loaded a stored version:
nothing SpiffWorkflow wired at run time on the source's specs may be relied on.
"""

from __future__ import annotations

import json
import re
import tempfile
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from tests.route.driver import Driver, route_engine
from tests.route.test_main_route import BID, judge_and_comar_pending, start, walk
from tests.versions.variant import route_variant
from workflows import RouteEngine
from workflows.versions import ElementMapping, MigrationBlocked, migrate, plan, revert_renames

RENAMES = {
    # the sequential multi-instance vote, inside the call activity panel_bid, inside proteccion
    "votar_panel_bid": "votar_panel_bid_v2",
    "bid_votacion": "bid_votacion_v2",
    "prot_llamar_panel_bid": "prot_llamar_panel_bid_v2",
    # the parallel multi-instance follow-up of the plan's measures, and its periodicity timer
    "dar_seguimiento_medida": "dar_seguimiento_medida_v2",
    "esperar_periodicidad_medida": "esperar_periodicidad_medida_v2",
    # the missing-child protocol (a call activity): a report with a legal deadline, its timer
    "reportar_salida_colocacion": "reportar_salida_colocacion_v2",
    "plazo_reporte_salida_colocacion": "plazo_reporte_salida_colocacion_v2",
    # inside the embedded subprocess proteccion: the prosecutor's notice and its deadline
    "notificar_ministerio_publico": "notificar_ministerio_publico_v2",
    "prot_plazo_notificacion_mp": "prot_plazo_notificacion_mp_v2",
}
MAPPING_TEXT = ("[elements]\n" + "".join(f'{o} = "{n}"\n' for o, n in RENAMES.items())).encode()


@lru_cache(maxsize=1)
def target() -> RouteEngine:
    return RouteEngine(route_variant(Path(tempfile.mkdtemp()), RENAMES).load())


def mapping() -> ElementMapping:
    return ElementMapping.parse(MAPPING_TEXT, "niveles.toml")


def on_target(d: Driver, case: Any) -> Driver:
    """Go on with the migrated case on the target version (the driver checks each step
    round-trips)."""
    d.engine = target()
    d._save(case)  # noqa: SLF001 - the driver's own save, on the new engine
    return d


def move(d: Driver, reached: set[str]) -> tuple[Driver, Any]:
    """Dry plan (blocked, naming exactly ``reached``), then the move with the mapping."""
    dry, _ = plan(d.state, target())
    assert not dry.ok
    named: set[str] = set()
    for reason in dry.reasons:
        if reason.startswith("reached elements missing"):
            named.update(reason.split(": ", 1)[1].split(" (map each")[0].split(", "))
        else:  # a running subprocess (an embedded one, or a multi-instance's instance)
            named.add(re.fullmatch(r"running subprocess (\w+) missing in .*", reason).group(1))
    assert named == reached, dry.reasons
    with pytest.raises(MigrationBlocked):
        migrate(d.state, target())
    ok, _ = plan(d.state, target(), mapping())
    assert ok.ok, ok.reasons
    case, result = migrate(d.state, target(), mapping(), run="r-deep")
    return d, (case, result)


def timers(state: str) -> dict[str, dict[str, Any]]:
    return json.loads(state)["meta"]["timers"]


def deadlines(d: Driver) -> dict[str, tuple]:
    """Each open task's deadline as the task index shows it: id -> (due, register key)."""
    return {t.task_id: (t.due_at, t.deadline_id) for t in d.ready_tasks()}


# ----------------------------------------------------------------- sequential multi-instance
def at_second_vote() -> Driver:
    d = start()
    walk(d, {"consolidar_bia": BID}, stop="compilar_informe_bid")
    d.complete("compilar_informe_bid")
    d.complete("verificar_preparacion_bid")
    d.complete("convocar_panel")
    d.complete("votar_panel_bid", voto="aprobar")
    assert d.task("votar_panel_bid").context["miembro"]["orden"] == 2
    return d


def test_mid_sequential_vote_inside_a_call_activity_inside_proteccion_moves_and_votes_on():
    d = at_second_vote()
    before = d.task("votar_panel_bid")
    d, (case, result) = move(d, {"votar_panel_bid", "bid_votacion", "prot_llamar_panel_bid"})
    assert {
        "votar_panel_bid -> votar_panel_bid_v2",
        "bid_votacion -> bid_votacion_v2",
        "prot_llamar_panel_bid -> prot_llamar_panel_bid_v2",
    } <= set(result.elements)
    on_target(d, case)
    (now,) = d.ready_tasks()
    assert (now.task_id, now.bpmn_id, now.lane) == (
        before.task_id,
        "votar_panel_bid_v2",
        before.lane,
    )
    assert now.context["miembro"]["orden"] == 2  # the same member's turn, not a restart
    # the vote goes on from the second member; the first vote is kept
    d.complete("votar_panel_bid_v2", voto="aprobar")
    assert d.task("votar_panel_bid_v2").context["miembro"]["orden"] == 3
    d.complete("votar_panel_bid_v2", voto="rechazar")
    assert d.ready() == ["registrar_decision_bid"]
    assert d.variables["votos_bid"] == "aprobar: 2, rechazar: 1"
    assert d.variables["mayoria_bid"] == "aprobar"


def test_mid_sequential_vote_restored_by_a_fresh_engine_votes_on():
    """The same state on a freshly loaded copy of the same route (a restart): the vote goes on."""
    d = at_second_vote()
    d.engine = RouteEngine(route_variant(Path(tempfile.mkdtemp()), {}).load())
    d.complete("votar_panel_bid")
    assert d.task("votar_panel_bid").context["miembro"]["orden"] == 3


# ----------------------------------------------------------------- parallel multi-instance
def at_follow_ups() -> Driver:
    """Two measures: the first followed up (en curso: its instance waits on the periodicity
    timer), the second ready."""
    d = start()
    walk(d, stop="dar_seguimiento_medida")
    numeros = sorted(
        t.context["medida"]["numero"]
        for t in d.ready_tasks()
        if t.bpmn_id == "dar_seguimiento_medida"
    )
    assert numeros == [1, 2]
    d.complete(
        "dar_seguimiento_medida",
        where=lambda t: t.context["medida"]["numero"] == 1,
        estatus="en_curso",
        proxima_accion="Cita",
        fecha_seguimiento=d.now.strftime("%Y-%m-%d"),
    )
    return d


def follow_ups(d: Driver, bpmn_id: str) -> list[int]:
    return sorted(t.context["medida"]["numero"] for t in d.ready_tasks() if t.bpmn_id == bpmn_id)


def test_mid_parallel_follow_up_moves_keeps_the_waiting_instance_and_finishes():
    d = at_follow_ups()
    twin = Driver.__new__(Driver)  # the same case left on the old version, for comparison
    twin.__dict__.update(d.__dict__, events=list(d.events))
    due = d.case().next_due_at()
    ready_id = d.task("dar_seguimiento_medida").task_id
    armed = {
        k: v for k, v in timers(d.state).items() if v["bpmn_id"] == "esperar_periodicidad_medida"
    }
    assert len(armed) == 1
    d, (case, _) = move(d, {"dar_seguimiento_medida", "esperar_periodicidad_medida"})
    on_target(d, case)
    assert follow_ups(d, "dar_seguimiento_medida_v2") == [2]
    assert d.task("dar_seguimiento_medida_v2").task_id == ready_id
    assert d.case().next_due_at() == due  # the periodicity wait keeps its instant
    (key,) = armed
    assert timers(d.state)[key]["due"] == armed[key]["due"]
    assert timers(d.state)[key]["bpmn_id"] == "esperar_periodicidad_medida_v2"
    numero = lambda n: lambda t: t.context["medida"]["numero"] == n  # noqa: E731
    d.complete("dar_seguimiento_medida_v2", where=numero(2), estatus="cumplida")
    assert follow_ups(d, "dar_seguimiento_medida_v2") == []
    d.advance(due - d.now + timedelta(seconds=1))  # measure 1's periodicity comes round
    assert follow_ups(d, "dar_seguimiento_medida_v2") == [1]
    d.complete("dar_seguimiento_medida_v2", where=numero(1), estatus="cumplida")
    # both instances merged: the plan is executed and the route goes on past it, exactly where
    # the same case goes on the old version
    twin.complete("dar_seguimiento_medida", where=numero(2), estatus="cumplida")
    twin.advance(due - twin.now + timedelta(seconds=1))
    twin.complete("dar_seguimiento_medida", where=numero(1), estatus="cumplida")
    assert "dar_seguimiento_medida_v2" not in d.ready()
    assert d.ready() == twin.ready() and d.ready()
    assert d.variables == twin.variables


# ----------------------------------------------------------------- call activity + deadline
def missing_child_report_overdue() -> tuple[Driver, Any]:
    d, _pending = judge_and_comar_pending()
    left_at = d.now - timedelta(hours=1, minutes=45)
    d.send(
        "nna_salio_colocacion",
        {
            "fecha_hora_salida": left_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "circunstancias": "salida_voluntaria",
            "indicios_riesgo": False,
        },
    )
    return d, left_at


def test_waiting_in_a_call_activity_on_an_escalated_deadline_keeps_the_breach():
    d, left_at = missing_child_report_overdue()
    report = d.task("reportar_salida_colocacion")
    assert report.due_at == left_at + timedelta(hours=1)  # already breached, escalated twice
    levels = [
        e.data["level"]
        for e in d.events_of("deadline_escalated")
        if e.data.get("plazo_id") == "aviso_salida_colocacion"
    ]
    before_timers = timers(d.state)
    before = deadlines(d)
    d, (case, _) = move(d, {"reportar_salida_colocacion", "plazo_reporte_salida_colocacion"})
    on_target(d, case)
    # every open task keeps its id, due instant and register key; nothing re-armed or dropped
    assert deadlines(d) == before
    after_timers = timers(d.state)
    assert set(after_timers) == set(before_timers)
    for key, record in before_timers.items():
        moved = after_timers[key]
        assert {k: v for k, v in moved.items() if k not in ("bpmn_id", "attached_bpmn_id")} == {
            k: v for k, v in record.items() if k not in ("bpmn_id", "attached_bpmn_id")
        }
        assert moved["bpmn_id"] == RENAMES.get(record["bpmn_id"], record["bpmn_id"])
    assert d.task("reportar_salida_colocacion_v2").lane == report.lane
    # time passes: the breached deadline does not escalate again from the start
    escalated = len(d.events_of("deadline_escalated"))
    d.advance(timedelta(minutes=1))
    assert [
        e
        for e in d.events_of("deadline_escalated")[escalated:]
        if e.data.get("plazo_id") == "aviso_salida_colocacion"
    ] == []
    assert levels  # it had escalated before the move
    d.complete("reportar_salida_colocacion_v2")
    assert d.task("denunciar_ante_mp").due_at == left_at + timedelta(hours=2)


# ----------------------------------------------------------------- embedded subprocess + deadline
def test_waiting_inside_proteccion_with_an_armed_deadline_moves_with_its_due_instant():
    d = start()
    walk(d, stop="detectar_necesidades")
    d.complete(
        "detectar_necesidades",
        indicadores_delito=True,
        tipos_delito=["explotacion_laboral"],
        necesidades_salud=False,
    )
    notice = d.task("notificar_ministerio_publico")
    assert notice.deadline_id == "notificacion_mp_delito"
    before = deadlines(d)
    d, (case, _) = move(d, {"notificar_ministerio_publico", "prot_plazo_notificacion_mp"})
    on_target(d, case)
    moved = d.task("notificar_ministerio_publico_v2")
    assert (moved.task_id, moved.due_at, moved.deadline_id, moved.lane) == (
        notice.task_id,
        notice.due_at,
        notice.deadline_id,
        notice.lane,
    )
    assert deadlines(d) == before
    d.complete("notificar_ministerio_publico_v2")
    assert d.task("iniciar_investigacion").lane == "FISCALIA"


# ----------------------------------------------------------------- revert after further work
def test_revert_right_after_the_move_restores_the_case_exactly():
    d = at_second_vote()
    d, (case, _) = move(d, {"votar_panel_bid", "bid_votacion", "prot_llamar_panel_bid"})
    entry = case.meta["migrations"][-1]
    back, result = migrate(
        case.dump(), route_engine(), None, run="revert", renames=revert_renames(entry), since=entry
    )
    assert result.ok
    assert [t.bpmn_id for t in back.ready_tasks()] == ["votar_panel_bid"]


def test_revert_after_work_on_the_new_version_is_refused_naming_why():
    d = at_second_vote()
    d, (case, _) = move(d, {"votar_panel_bid", "bid_votacion", "prot_llamar_panel_bid"})
    entry = case.meta["migrations"][-1]
    on_target(d, case)
    d.complete("votar_panel_bid_v2")  # a vote recorded on the new version
    dry, _ = plan(d.state, route_engine(), renames=revert_renames(entry), since=entry)
    assert not dry.ok
    assert dry.reasons == [
        "the case changed after migration r-deep (tasks completed, started or fired on version "
        f"{target().library.version}): a revert would carry that work to a version it was not "
        "done on; migrate the case forward with a mapping instead"
    ]
    with pytest.raises(MigrationBlocked, match="changed after migration r-deep"):
        migrate(d.state, route_engine(), None, renames=revert_renames(entry), since=entry)


def test_revert_of_a_migration_recorded_without_a_fingerprint_is_refused():
    d = at_second_vote()
    d, (case, _) = move(d, {"votar_panel_bid", "bid_votacion", "prot_llamar_panel_bid"})
    entry = {k: v for k, v in case.meta["migrations"][-1].items() if k != "state_after"}
    with pytest.raises(MigrationBlocked, match="recorded no fingerprint"):
        migrate(case.dump(), route_engine(), None, renames=revert_renames(entry), since=entry)
