"""The one place the service touches the engine layer (``workflows``), loaded once per process.

The web layer never imports SpiffWorkflow; services use only the public ``workflows`` API.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from workflows import ReadyTask, RouteEngine, RouteLibrary, load_library
from workflows.calendario import CalendarioLaboral, Suspension
from workflows.forms import validation_errors
from workflows.route_files import bpmn_dir as _bpmn_dir
from workflows.specs import REOPEN_FORM as REOPEN_FORM  # the reopening's form, for the pages

_SOURCE = re.compile(r"Fuente(?: legal)?:\s*(.+?)\s*$", re.IGNORECASE | re.DOTALL)


@lru_cache(maxsize=1)
def library() -> RouteLibrary:
    return load_library()


def bpmn_dir() -> Path:
    """The folder library() reads the route from; the pages draw the same files."""
    return _bpmn_dir()


#: Term suspensions stored in the database (app/services/suspensions.py keeps this in step).
_suspensions: tuple[Suspension, ...] = ()
#: Non-working days each authority type declared, stored in the database (app/services/calendars.py).
_declared: tuple[tuple[str, frozenset[date]], ...] = ()


@lru_cache(maxsize=1)
def route_engine() -> RouteEngine:
    """The engine, with the configured calendar plus every stored suspension of terms."""
    return RouteEngine(library(), calendario())


#: Other route versions this process loaded (app/services/route_versions.py reads their files
#: from the database): cases run on the version they were started on until migrated.
_libraries: dict[str, RouteLibrary] = {}
_engines: dict[str, RouteEngine] = {}
_VERSION = re.compile(r'"spec_version":"([0-9a-f]{1,64})"')


def add_version(other: RouteLibrary) -> None:
    """Make another route version's engine available to ``engine_for``."""
    if other.version != library().version:
        _libraries[other.version] = other


def has_version(version: str) -> bool:
    return version == library().version or version in _libraries


def engine_for(version: str | None) -> RouteEngine:
    """The engine of a route version: the current one, another loaded one, or (a version whose
    files were never stored) the current one, which moves a compatible case to itself
    (workflows/serialization.py) and refuses the others."""
    if not version or version not in _libraries:
        return route_engine()
    engine = _engines.get(version)
    if engine is None:
        engine = _engines[version] = RouteEngine(_libraries[version], calendario())
    return engine


def state_version(state: str | None) -> str | None:
    """The route version a dumped case names (its envelope's head), without parsing it all."""
    match = _VERSION.search((state or "")[:300])
    return match.group(1) if match else None


def restore(state: str) -> Any:
    """A dumped case, on its own route version's engine."""
    return engine_for(state_version(state)).restore(state)


def calendario() -> CalendarioLaboral:
    cal = library().plazos.calendario_desde_config()
    for suspension in _suspensions:
        cal = cal.con_suspension(suspension)
    for autoridad, dias in _declared:
        cal = cal.con_dias_declarados(autoridad, dias)
    return cal


def set_suspensions(suspensions: tuple[Suspension, ...]) -> bool:
    """Use these stored suspensions from now on; True (and a new engine) if they changed."""
    global _suspensions
    if suspensions == _suspensions:
        return False
    _suspensions = suspensions
    route_engine.cache_clear()
    _engines.clear()
    return True


def set_declared_days(declared: dict[str, frozenset[date]]) -> bool:
    """Use these stored declared days (per authority type) from now on; True (and a new engine)
    if they changed."""
    global _declared
    value = tuple(sorted((k, frozenset(v)) for k, v in declared.items() if v))
    if value == _declared:
        return False
    _declared = value
    route_engine.cache_clear()
    _engines.clear()
    return True


def start_form() -> dict[str, Any]:
    return library().forms.schemas["inicio_caso.schema.json"]


def form_schema(form_name: str) -> dict[str, Any]:
    return library().forms.schemas[form_name]


def form_example(form_name: str, facts_at: datetime | None = None) -> dict[str, Any]:
    """A form's first example (demo and tests submit it). With ``facts_at``, the dates of facts
    (``"x-fecha-hecho"``: a deadline counts from them, so they may be neither in the future nor
    before detection) are that instant, so the example fits a case of any date."""
    schema = form_schema(form_name)
    example = copy.deepcopy((schema.get("examples") or [{}])[0])
    if facts_at is not None:
        for name, prop in (schema.get("properties") or {}).items():
            if name in example and isinstance(prop, dict) and "x-fecha-hecho" in prop:
                if prop.get("format") == "date":
                    example[name] = calendario().fecha_local(facts_at).isoformat()
                else:
                    example[name] = facts_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return example


def legal_basis(task: ReadyTask) -> str | None:
    """The legal source of a step: its deadline's source, else the BPMN documentation's."""
    return legal_basis_of(task.bpmn_id, task.legal_source)


def legal_basis_of(bpmn_id: str, deadline_source: str | None) -> str | None:
    """The legal source of the user task ``bpmn_id``: its deadline's source if it has one, else
    the "Fuente legal:" of its BPMN documentation."""
    if deadline_source:
        return deadline_source[:500]
    info = library().tasks.get(bpmn_id)
    match = _SOURCE.search(info.documentation or "") if info else None
    return match.group(1).rstrip(".")[:500] if match else None


def deadline_label(plazo_id: str | None, lang: str) -> str:
    """What a deadline requires, in ``lang`` (es/en), from config/plazos.toml; the id if unknown."""
    if not plazo_id or plazo_id not in library().plazos:
        return plazo_id or ""
    plazo = library().plazos[plazo_id]
    return plazo.descripcion_en if lang == "en" else plazo.descripcion_es


def schema_errors(schema: dict[str, Any], data: Any, prefix: str = "$") -> list[dict[str, str]]:
    """Every error of ``data`` against a JSON Schema, as the engine reports them (a missing
    required field at its own path), with paths under ``prefix``."""
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    return [
        {"path": prefix + e["path"][1:], "message": e["message"]}
        for e in validation_errors(validator, data)
    ]
