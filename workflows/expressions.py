"""Restricted evaluator for gateway conditions, scripts and timer expressions.

SpiffWorkflow's default environment hands BPMN expressions to ``eval``/``exec``; even its documented
``safe_globals`` recipe can be escaped through ``().__class__.__subclasses__()``. Here every
expression is compiled with RestrictedPython (no dunder attributes, no imports, guarded item and
attribute access) and evaluated against an explicit namespace: task data, the read-only case
variables ``caso`` and a short list of route functions. Task data keys that start with ``_`` or
shadow a function never reach the namespace, so submitted data cannot replace builtins.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import lru_cache
from types import CodeType, MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment

from .clock import current_now
from .errors import ExpressionError
from .guarantees import majority_instant

#: Case-level variables scripts may set with ``marcar`` (docs/architecture.md).
CASE_VARIABLES: frozenset[str] = frozenset(
    {
        "jurisdiccion",
        "fecha_nacimiento",
        "nacionalidad",
        "fecha_deteccion",
        "fecha_ingreso_pais",
        "presuncion_minoria_edad",
        "edad_estimada",
        "fecha_estimacion_edad",
        "mayoria_edad_cumplida",
        "riesgo_inminente",
        "situacion_acompanamiento",
        "nacionalidad_mexicana",
        "indicadores_proteccion_internacional",
        "indicadores_delito",
        "necesidades_salud",
        "asilo_pendiente",
        "contacto_consular_bloqueado",
        "estatus_proteccion",
        "nivel_riesgo",
        "riesgo_maximo",
        "requiere_bid",
        "decision_bid",
        "mayoria_bid",
        "unanimidad_bid",
        "votos_bid",
        "retorno_admitido_bid",
        "presidencia_bid",
        "solucion_duradera",
        "retorno_en_interes_superior",
        "nna_no_localizado",
        "nl_busqueda",
        "nl_cierre_disponible",
        "nl_periodo_cumplido",
        "cierre_no_localizada_decidido",
        "busqueda_fiscalia_abierta",
        "fecha_salida_colocacion",
        "proteccion_concluida",
        "motivo_cierre",
        "requiere_interprete",
        "temor_retorno",
        "referencia_comar_en_curso",
        "canal_ingreso",
        "autoridad_receptora",
        "aviso_inm_recepcion",
        "solicitud_por_retomar",
    }
)

#: Used when the date of birth is unknown: the 18th-birthday timer then never fires on its own.
FECHA_MAYORIA_DESCONOCIDA = "2999-12-31T00:00:00+00:00"
#: config/plazos.toml entry whose length is how long before majority transition planning starts
PLAZO_PLAN_TRANSICION = "plan_transicion"
#: the local time of the route when no calendar is configured (config/plazos.toml ``zona``)
_CENTRAL_MEXICO = ZoneInfo("America/Mexico_City")

_SAFE_BUILTINS: dict[str, Any] = {
    "len": len,
    "min": min,
    "max": max,
    "any": any,
    "all": all,
    "sorted": sorted,
    "sum": sum,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "abs": abs,
    "round": round,
    "list": list,
    "dict": dict,
    "True": True,
    "False": False,
    "None": None,
}

ROUTE_FUNCTIONS: frozenset[str] = frozenset(
    {
        "valor",
        "marcar",
        "plazo",
        "plazo_ciclo",
        "fecha_mayoria_edad",
        "fecha_inicio_transicion",
        "caso",
    }
)

_MAX_SCALAR_LEN = 2000


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> CodeType:
    """Compile a condition or timer expression; cached because gateways are evaluated often."""
    result = compile_restricted_eval(source.strip(), "<condición>")
    if result.errors or result.code is None:
        raise ExpressionError(f"expression {source!r} refused: {'; '.join(result.errors)}")
    return result.code


@lru_cache(maxsize=1024)
def compile_script(source: str) -> CodeType:
    """Compile a script task or pre/post script."""
    result = compile_restricted_exec(source, "<script>")
    if result.errors or result.code is None:
        raise ExpressionError(f"script {source!r} refused: {'; '.join(result.errors)}")
    return result.code


def marcar_calls(source: str, mode: str = "exec") -> list[str]:
    """Names passed to ``marcar(...)`` in a script, for the load-time check of case variables."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source, mode=mode)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "marcar" and node.args:
            first = node.args[0]
            names.append(first.value if isinstance(first, ast.Constant) else "<no literal>")
    return names


def string_args(source: str, function: str, mode: str = "eval") -> list[str]:
    """First literal argument of every call to ``function`` (deadline ids, form paths)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source.strip(), mode=mode)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == function and node.args:
            first = node.args[0]
            found.append(first.value if isinstance(first, ast.Constant) else "<no literal>")
    return found


class DeadlineCalculator:
    """What ``plazo``/``plazo_ciclo`` need: the deadline catalogue and the working-day calendar."""

    def __init__(self, catalogo: Any, calendario: Any):
        self.catalogo = catalogo
        self.calendario = calendario

    def due(
        self,
        plazo_id: str,
        desde: datetime,
        jurisdiccion: str,
        nivel: str | None,
        duracion: str | None = None,
    ) -> datetime:
        if duracion is None:
            return self.catalogo.vencimiento(plazo_id, desde, self.calendario, jurisdiccion, nivel)
        return self.catalogo.vencimiento(
            plazo_id, desde, self.calendario, jurisdiccion, nivel, duracion=duracion
        )

    def cycle(self, plazo_id: str, desde: datetime, jurisdiccion: str, nivel: str | None) -> str:
        return self.catalogo.ciclo(plazo_id, desde, self.calendario, jurisdiccion, nivel)


@dataclass
class CaseContext:
    """Case-level state shared by every branch and subprocess of one case."""

    variables: dict[str, Any]
    deadlines: DeadlineCalculator
    #: Latest submission of each task's form, by task id. Kept here, not in task data, so forms
    #: are stored once per case instead of being copied along every task and subprocess, and a
    #: form can never overwrite a variable that a gateway reads.
    forms: dict[str, Any] = field(default_factory=dict)
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    #: deadline id -> the instant its last computed cycle counts from (``plazo_ciclo``'s
    #: ``desde``), so the engine reports the deadline's real start, not when it was armed
    starts: dict[str, datetime] = field(default_factory=dict)

    def set_variable(self, name: str, value: Any) -> None:
        if name not in CASE_VARIABLES:
            raise ExpressionError(f"marcar: {name!r} is not a declared case variable")
        _check_simple(value, name)
        old = self.variables.get(name)
        if old != value:
            self.variables[name] = value
            self.changes.append((name, old, value))


def _check_simple(value: Any, name: str) -> None:
    """Case variables hold small JSON values only: they are audited and shown to officers."""
    if value is None or isinstance(value, bool | int | float):
        return
    if isinstance(value, str):
        if len(value) > _MAX_SCALAR_LEN:
            raise ExpressionError(f"marcar: value of {name!r} is too long")
        return
    raise ExpressionError(f"marcar: {name!r} must be a string, number, boolean or null")


def _read_path(forms: Mapping[str, Any], path: str, default: Any) -> Any:
    task_id, _, rest = path.partition(".")
    current: Any = forms.get(task_id)
    if current is None:
        return default
    if not rest:
        return current
    for part in rest.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return default
    return current


def _route_functions(ctx: CaseContext, data: Mapping[str, Any]) -> dict[str, Callable[..., Any]]:
    def valor(path: str, defecto: Any = None) -> Any:
        """Read a submitted form field: ``valor("registrar_deteccion.duda_edad")``."""
        return _read_path(ctx.forms, str(path), defecto)

    def marcar(nombre: str, valor_: Any) -> Any:
        ctx.set_variable(str(nombre), valor_)
        return valor_

    def _jurisdiccion() -> str:
        return str(ctx.variables.get("jurisdiccion") or "00")

    def _desde(desde: str | None) -> datetime:
        """Deadlines count from now unless the law counts from an earlier fact (e.g. entry)."""
        if not desde:
            return current_now()
        text = str(desde)
        try:
            if len(text) == 10:  # a date (e.g. entry into Mexico): that day, in central Mexico
                day = date.fromisoformat(text)
                tz = ctx.deadlines.calendario.tz
                return datetime(day.year, day.month, day.day, 12, tzinfo=tz)
            start = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:  # no date at all (forms are checked; this is a stored oddity)
            return current_now()
        return start if start.tzinfo else start.replace(tzinfo=timezone.utc)

    def plazo(
        plazo_id: str,
        nivel: str | None = None,
        desde: str | None = None,
        duracion: str | None = None,
    ) -> str:
        """Due instant; ``duracion`` (ISO) replaces the configured length, e.g. the follow-up
        periodicity a plan set for one measure, counted on the deadline's own calendar."""
        due = ctx.deadlines.due(plazo_id, _desde(desde), _jurisdiccion(), nivel, duracion or None)
        return due.astimezone(timezone.utc).isoformat()

    def plazo_ciclo(plazo_id: str, nivel: str | None = None, desde: str | None = None) -> str:
        start = _desde(desde)
        ctx.starts[str(plazo_id)] = start
        return ctx.deadlines.cycle(plazo_id, start, _jurisdiccion(), nivel)

    def _zona() -> Any:
        calendario = getattr(ctx.deadlines, "calendario", None)
        return getattr(calendario, "tz", None) or _CENTRAL_MEXICO

    def fecha_mayoria_edad() -> str:
        """The majority date as a UTC instant (``workflows/guarantees.py`` derives it, for the
        route and the app alike); never while minority is presumed or the age is unknown."""
        instant = majority_instant(ctx.variables, ctx.forms, _zona(), current_now)
        if instant is None:
            return FECHA_MAYORIA_DESCONOCIDA
        return instant.astimezone(timezone.utc).isoformat()

    def fecha_inicio_transicion() -> str:
        """When planning for adult life starts: ``plan_transicion``'s length (six months, local
        procedure [U]) before the majority date; never when the majority date is unknown."""
        mayoria = fecha_mayoria_edad()
        if mayoria == FECHA_MAYORIA_DESCONOCIDA:
            return FECHA_MAYORIA_DESCONOCIDA
        hasta = datetime.fromisoformat(mayoria)
        inicio = ctx.deadlines.catalogo.antes_de(
            PLAZO_PLAN_TRANSICION, hasta, ctx.deadlines.calendario
        )
        return inicio.astimezone(timezone.utc).isoformat()

    return {
        "valor": valor,
        "marcar": marcar,
        "plazo": plazo,
        "plazo_ciclo": plazo_ciclo,
        "fecha_mayoria_edad": fecha_mayoria_edad,
        "fecha_inicio_transicion": fecha_inicio_transicion,
    }


def _globals(ctx: CaseContext, data: Mapping[str, Any]) -> dict[str, Any]:
    g: dict[str, Any] = {
        "__builtins__": dict(_SAFE_BUILTINS),
        "_getattr_": safer_getattr,
        "_getitem_": default_guarded_getitem,
        "_getiter_": default_guarded_getiter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": full_write_guard,
        "_inplacevar_": _inplacevar,
        "caso": MappingProxyType(ctx.variables),
    }
    g.update(_route_functions(ctx, data))
    return g


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    ops: dict[str, Callable[[Any, Any], Any]] = {
        "+=": lambda a, b: a + b,
        "-=": lambda a, b: a - b,
        "*=": lambda a, b: a * b,
    }
    if op not in ops:
        raise ExpressionError(f"operator {op} is not allowed")
    return ops[op](x, y)


def _visible_data(data: Mapping[str, Any], reserved: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in data.items()
        if k.isidentifier()
        and not k.startswith("_")
        and k not in reserved
        and k not in _SAFE_BUILTINS
    }


def evaluate(ctx: CaseContext, expression: str, data: Mapping[str, Any]) -> Any:
    """Evaluate one expression against task data and the case context."""
    code = compile_expression(expression)
    g = _globals(ctx, data)
    g.update(_visible_data(data, g))
    try:
        return eval(code, g)  # noqa: S307 - compiled by RestrictedPython with guarded globals
    except ExpressionError:
        raise
    except Exception as exc:  # a bad expression must surface with its text
        raise ExpressionError(f"expression {expression!r} failed: {exc}") from exc


def execute(ctx: CaseContext, script: str, data: dict[str, Any]) -> None:
    """Run a script; plain assignments land in task data, ``marcar`` in case variables."""
    code = compile_script(script)
    g = _globals(ctx, data)
    local = _visible_data(data, g)
    before = dict(local)
    try:
        exec(code, g, local)  # noqa: S102 - compiled by RestrictedPython with guarded globals
    except ExpressionError:
        raise
    except Exception as exc:
        raise ExpressionError(f"script {script!r} failed: {exc}") from exc
    for key, value in local.items():
        if key.startswith("_") or callable(value):
            continue
        if key not in before or before[key] is not value:
            data[key] = value


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment bound to one case's context."""

    def __init__(self, ctx: CaseContext):
        super().__init__({})
        self.ctx = ctx

    def evaluate(self, expression, context, external_context=None):  # noqa: D102
        return evaluate(self.ctx, expression, context)

    def execute(self, script, context, external_context=None):  # noqa: D102
        execute(self.ctx, script, context)
        return True

    def call_service(self, context, **kwargs):  # noqa: D102
        raise ExpressionError("service tasks are not enabled in careroute")
