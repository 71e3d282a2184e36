"""The restricted evaluator: route functions work, escapes and imports do not."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.engine_fixture import FixturePlazos
from workflows.clock import engine_clock
from workflows.errors import ExpressionError
from workflows.expressions import CaseContext, DeadlineCalculator, evaluate, execute

NOW = datetime(2026, 3, 2, 10, tzinfo=timezone.utc)


FORMS = {
    "registrar_deteccion": {"riesgo": True, "adultos": [{"rol": "madre"}]},
    "plan": {"medidas": [1, 2]},
}


def ctx(**variables) -> CaseContext:
    return CaseContext(dict(variables), DeadlineCalculator(FixturePlazos(), None), forms=FORMS)


DATA = {"medidas": [1]}


@pytest.mark.parametrize(
    "expression, expected",
    [
        ('valor("registrar_deteccion.riesgo")', True),
        ('valor("registrar_deteccion.adultos.0.rol")', "madre"),
        ('valor("registrar_deteccion.falta", "def")', "def"),
        ('valor("otra_tarea.campo") is None', True),
        ('caso["jurisdiccion"] == "07"', True),
        ("len(medidas) == 1", True),
        ('valor("registrar_deteccion")["riesgo"]', True),
        ('[a["rol"] for a in valor("registrar_deteccion.adultos")]', ["madre"]),
        ('caso.get("nivel_riesgo", "medio")', "medio"),
    ],
)
def test_route_expressions(expression, expected):
    assert evaluate(ctx(jurisdiccion="07"), expression, DATA) == expected


def test_plazo_uses_the_engine_clock():
    with engine_clock(NOW):
        assert evaluate(ctx(), 'plazo("D1")', {}) == "2026-03-03T10:00:00+00:00"
        assert evaluate(ctx(), 'plazo_ciclo("D1")', {}) == "R3/2026-03-03T10:00:00+00:00/PT1H"


def test_fecha_mayoria_edad_handles_unknown_and_leap_day():
    assert evaluate(ctx(fecha_nacimiento="2010-05-01"), "fecha_mayoria_edad()", {}).startswith(
        "2028-05-01"
    )
    assert evaluate(ctx(fecha_nacimiento="2008-02-29"), "fecha_mayoria_edad()", {}).startswith(
        "2026-03-01"
    )
    assert evaluate(ctx(fecha_nacimiento=None), "fecha_mayoria_edad()", {}).startswith("2999")


ESCAPES = [
    "().__class__.__base__.__subclasses__()",
    "[c for c in ().__class__.__bases__[0].__subclasses__() if c.__name__ == 'Popen']",
    "__import__('os').getpid()",
    "getattr((), '__class__')",
    "open('/etc/passwd').read()",
    "eval('1+1')",
    "(lambda: 0).__globals__",
    "caso.__class__",
    "valor.__globals__['__builtins__']",
    "type(caso)",
]


@pytest.mark.parametrize("expression", ESCAPES)
def test_escapes_are_refused(expression):
    with pytest.raises(ExpressionError):
        evaluate(ctx(), expression, {})


@pytest.mark.parametrize(
    "script",
    [
        "import os",
        "x = ().__class__.__mro__",
        "caso['asilo_pendiente'] = True",
        "medidas.__class__ = 1",
        "exec('import os')",
    ],
)
def test_script_escapes_are_refused(script):
    with pytest.raises(ExpressionError):
        execute(ctx(), script, {"medidas": []})


def test_task_data_cannot_shadow_builtins_or_functions():
    hostile = {
        "__builtins__": {},
        "len": "no",
        "valor": "no",
        "_getattr_": None,
        "form:x": {"y": "ab"},
    }
    assert evaluate(ctx(), 'len("abc") + len(valor("plan.medidas", ""))', hostile) == 5


def test_scripts_set_task_data_and_declared_case_variables_only():
    c = ctx()
    data: dict = {}
    execute(
        c, 'medidas = valor("plan.medidas", [])\nmarcar("requiere_bid", len(medidas) > 1)', data
    )
    assert data["medidas"] == [1, 2]
    assert c.variables["requiere_bid"] is True
    assert c.changes == [("requiere_bid", None, True)]
    with pytest.raises(ExpressionError, match="not a declared case variable"):
        execute(c, 'marcar("cualquier_cosa", 1)', data)
    with pytest.raises(ExpressionError, match="string, number, boolean"):
        execute(c, 'marcar("motivo_cierre", [1])', data)


def test_case_variables_are_read_only_in_expressions():
    with pytest.raises(ExpressionError):
        evaluate(ctx(), 'caso.update({"asilo_pendiente": False})', {})
