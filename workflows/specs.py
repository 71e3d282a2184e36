"""Load and check the route: BPMN files, forms and deadlines, once, before any case starts.

A route with a broken file must not start at all: a typo in a gateway condition would otherwise
surface only when a child's case reaches that gateway. Every check raises SpecError naming the file
and element.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser

from .errors import ExpressionError, SpecError
from .expressions import (
    CASE_VARIABLES,
    compile_expression,
    compile_script,
    marcar_calls,
    string_args,
)
from .forms import FORM_SUFFIX, FormRegistry
from .route_files import ENV_BPMN, ENV_FORMS, bpmn_dir, forms_dir
from .route_files import REPO_ROOT as REPO_ROOT  # tests read the checkout through specs

if TYPE_CHECKING:
    from .plazos import CatalogoPlazos

MAIN_PROCESS = "ruta_proteccion_nna"
START_FORM = "inicio_caso" + FORM_SUFFIX
#: The form of a reopening (category and reason): no user task has it; ``RouteEngine.reopen``
#: records it as the case's form ``reabrir_caso`` and the reopening's entry reads it.
REOPEN_FORM = "reabrir_caso" + FORM_SUFFIX
#: Forms that are the case's own records, not a task's: which ``valor`` may read besides tasks.
CASE_FORMS = {"inicio_caso": START_FORM, "reabrir_caso": REOPEN_FORM}

#: Lane names are authority types: the app routes tasks by them (docs/architecture.md).
AUTHORITY_TYPES: frozenset[str] = frozenset(
    {"INM", "PROCURADURIA", "DIF_CAS", "COMAR", "FISCALIA", "JUZGADO", "SRE_CONSULADO", "IFDP"}
)
ROLES: frozenset[str] = frozenset({"officer", "supervisor", "head"})
#: BPMN property ``asignacion`` = "apertura": the task goes to the authority that opened the case
#: (the DIF shelter or COMAR office that received the child), not to whichever authority of its
#: lane covers the child's location.
ASSIGN_TO_OPENER = "apertura"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}


@dataclass(frozen=True)
class TaskInfo:
    """Static facts about one user task, read from its BPMN element."""

    bpmn_id: str
    process_id: str
    name: str
    name_en: str
    lane: str
    rol: str
    form: str
    documentation: str
    file: str
    #: authority type the route notifies when this task is completed (BPMN property
    #: ``notifica``): that authority may read the case from then on (app/access_rules.py)
    notifies: str | None = None
    #: user tasks whose forms this task approves or decides on (BPMN property ``aprueba``,
    #: comma-separated task ids, checked): the approver reads them beside the decision form
    approves: tuple[str, ...] = ()
    #: BPMN property ``asignacion="apertura"``: routed to the authority that opened the case
    to_opener: bool = False


@dataclass(frozen=True)
class DeadlineInfo:
    """A legal deadline bound to a task by a boundary timer."""

    boundary_id: str
    plazo_id: str
    attached_to: str
    legal_source: str
    interrupting: bool


@dataclass
class RouteLibrary:
    """Everything the engine needs, parsed and checked once per process."""

    specs: dict[str, tuple[Any, dict[str, Any]]]
    forms: FormRegistry
    plazos: CatalogoPlazos
    tasks: dict[str, TaskInfo]
    deadlines: dict[str, DeadlineInfo]
    version: str
    files: list[str] = field(default_factory=list)
    #: the folders it was read from (workflows/versions.py stores a version's files)
    bpmn_dir: Path | None = None
    forms_dir: Path | None = None

    @property
    def start_form(self) -> dict[str, Any]:
        return self.forms.schemas[START_FORM]

    def deadlines_for(self, task_bpmn_id: str) -> list[DeadlineInfo]:
        return [d for d in self.deadlines.values() if d.attached_to == task_bpmn_id]


def default_dirs() -> tuple[Path, Path]:
    """bpmn/ and forms/ as shipped, or as overridden (workflows/route_files.py)."""
    return bpmn_dir(), forms_dir()


def load_library(
    bpmn_dir: Path | None = None,
    forms_dir: Path | None = None,
    plazos: CatalogoPlazos | None = None,
) -> RouteLibrary:
    """Parse, validate and cross-check the whole route; raise SpecError on the first problem."""
    default_bpmn, default_forms = default_dirs()
    bpmn_dir = Path(bpmn_dir or default_bpmn)
    forms_dir = Path(forms_dir or default_forms)
    _require_folder(bpmn_dir, "*.bpmn", "BPMN", ENV_BPMN, "route")
    _require_folder(forms_dir, f"*{FORM_SUFFIX}", "forms", ENV_FORMS, "forms")
    files = sorted(bpmn_dir.glob("*.bpmn"))
    forms = FormRegistry.load(forms_dir)
    if START_FORM not in forms:
        raise SpecError("the case-opening form is missing", file=str(forms_dir / START_FORM))
    if plazos is None:
        from .plazos import CatalogoPlazos

        plazos = CatalogoPlazos.cargar()
    catalogo = plazos
    parser = _parse(files)
    specs = _build_specs(parser)
    tasks, deadlines = {}, {}
    for path in files:
        t, d = _check_file(path, forms, catalogo)
        _merge_unique(tasks, t, path)
        _merge_unique(deadlines, d, path)
    _check_approves(tasks)
    for process_id, (spec, subs) in specs.items():
        for s in [spec, *subs.values()]:
            _check_expressions(s, catalogo, tasks, _file_of(parser, s.name) or process_id)
    case_forms = {name: f for name, f in CASE_FORMS.items() if f in forms}
    forms.check_keywords(
        {**{t.bpmn_id: t.form for t in tasks.values()}, **case_forms}, CASE_VARIABLES
    )
    return RouteLibrary(
        specs=specs,
        forms=forms,
        plazos=catalogo,
        tasks=tasks,
        deadlines=deadlines,
        version=_version(files, forms_dir, catalogo),
        files=[p.name for p in files],
        bpmn_dir=bpmn_dir,
        forms_dir=forms_dir,
    )


def _check_approves(tasks: dict[str, TaskInfo]) -> None:
    """``aprueba`` names user tasks of the route, never the task itself."""
    for info in tasks.values():
        for target in info.approves:
            if target not in tasks or target == info.bpmn_id:
                raise SpecError(
                    f"aprueba {target!r} is not another user task of the route",
                    file=info.file,
                    element=info.bpmn_id,
                )


def _require_folder(path: Path, pattern: str, kind: str, env: str, installed: str) -> None:
    """A missing or empty folder is a configuration mistake: name the variable that fixes it."""
    if path.is_dir() and any(path.glob(pattern)):
        return
    problem = f"has no {pattern[1:]} files" if path.is_dir() else "does not exist"
    raise SpecError(
        f"the {kind} folder {path} {problem}: set {env} to the folder of the route's "
        f"{pattern[1:]} files, or unset it to use the {installed} installed with careroute"
    )


def _parse(files: list[Path]) -> SpiffBpmnParser:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    for path in files:
        try:
            parser.add_bpmn_file(str(path))
        except ValidationException as exc:
            raise SpecError(_vmsg(exc), file=str(path), element=exc.id or None) from exc
        except etree.XMLSyntaxError as exc:
            raise SpecError(f"not well-formed XML: {exc}", file=str(path)) from exc
    return parser


def _vmsg(exc: ValidationException) -> str:
    line = f" (line {exc.line_number})" if getattr(exc, "line_number", "") else ""
    return f"{exc.args[0] if exc.args else exc}{line}"


def _build_specs(parser: SpiffBpmnParser) -> dict[str, tuple[Any, dict[str, Any]]]:
    specs = {}
    for process_id in parser.get_process_ids():
        try:
            specs[process_id] = (
                parser.get_spec(process_id),
                parser.get_subprocess_specs(process_id),
            )
        except ValidationException as exc:
            raise SpecError(
                _vmsg(exc), file=exc.file_name or None, element=exc.id or process_id
            ) from exc
    if MAIN_PROCESS not in specs:
        raise SpecError(f"main process {MAIN_PROCESS!r} not found among {sorted(specs)}")
    for spec, subs in specs.values():
        for process in (spec, *subs.values()):
            _connect_loops(process)
    return specs


def _connect_loops(process: Any) -> None:
    """Connect each multi-instance task to its instances' completion, as SpiffWorkflow's
    serializer does when it reads a spec.

    SpiffWorkflow connects it only when an instance is created (``create_child``), on the spec
    object: a case restored on specs that never created an instance in this process (a server
    just started, a route version just loaded, a case just migrated) would complete the running
    instance and never merge it, so the panel's next vote (``bid_votacion``) or the plan's
    remaining measures (``ejecutar_medidas``) would never come and the case would stall."""
    for task_spec in process.task_specs.values():
        if isinstance(task_spec, LoopTask):
            child = process.task_specs.get(task_spec.task_spec)
            if child is not None and not child.completed_event.is_connected(task_spec.merge_child):
                child.completed_event.connect(task_spec.merge_child)


def _file_of(parser: SpiffBpmnParser, process_id: str) -> str | None:
    proc = parser.process_parsers.get(process_id)
    return getattr(proc, "filename", None) if proc else None


def _merge_unique(target: dict[str, Any], new: dict[str, Any], path: Path) -> None:
    for key, value in new.items():
        if key in target:
            raise SpecError("id is used in more than one place", file=str(path), element=key)
        target[key] = value


def _text(el: etree._Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def _check_file(
    path: Path, forms: FormRegistry, catalogo: CatalogoPlazos
) -> tuple[dict[str, TaskInfo], dict[str, DeadlineInfo]]:
    """Static checks that need the XML itself: lanes, forms, roles, deadline timers."""
    tree = etree.parse(str(path))
    tasks: dict[str, TaskInfo] = {}
    deadlines: dict[str, DeadlineInfo] = {}
    for process in tree.iterfind("bpmn:process", NS):
        pid = process.get("id")
        lanes: dict[str, str] = {}
        for container in [process, *process.iterfind(".//bpmn:subProcess", NS)]:
            lanes.update(_lanes(container, path))
        for task in process.iterfind(".//bpmn:userTask", NS):
            info = _task_info(task, pid, lanes, forms, path)
            tasks[info.bpmn_id] = info
        _check_interrupting_events(process, path)
        for boundary in process.iterfind(".//bpmn:boundaryEvent", NS):
            timer = boundary.find("bpmn:timerEventDefinition", NS)
            cycle = timer.find("bpmn:timeCycle", NS) if timer is not None else None
            if cycle is None:
                continue
            ids = string_args(_text(cycle), "plazo_ciclo")
            if not ids:
                continue
            _check_plazo_ids(ids, catalogo, path, boundary.get("id"))
            deadlines[boundary.get("id")] = DeadlineInfo(
                boundary_id=boundary.get("id"),
                plazo_id=ids[0],
                attached_to=boundary.get("attachedToRef"),
                legal_source=_text(boundary.find("bpmn:documentation", NS))
                or catalogo[ids[0]].fuente_legal,
                interrupting=boundary.get("cancelActivity", "true") != "false",
            )
    return tasks, deadlines


def _check_interrupting_events(process: etree._Element, path: Path) -> None:
    """An event that stops other authorities' work must say which work and why.

    Interrupting boundary events (``cancelActivity`` is true unless it says false) and terminate
    end events cancel every open task inside their scope; docs/care-route.md lists them with this
    documentation as the reason, so a new one without a reason is refused.
    """
    stopping = [
        b
        for b in process.iterfind(".//bpmn:boundaryEvent", NS)
        if b.get("cancelActivity", "true") != "false"
    ] + [
        e
        for e in process.iterfind(".//bpmn:endEvent", NS)
        if e.find("bpmn:terminateEventDefinition", NS) is not None
    ]
    for event in stopping:
        if not _text(event.find("bpmn:documentation", NS)):
            raise SpecError(
                "an interrupting event must say in bpmn:documentation which work it stops and why",
                file=str(path),
                element=event.get("id"),
            )


def _lanes(container: etree._Element, path: Path) -> dict[str, str]:
    """Map flow node id -> lane name for the lanes of one process or subprocess.

    A lane may only hold the nodes of its own container: a modeler reassigns lanes by where a
    shape sits on the container's own diagram, so a main-process lane that names a node inside
    an embedded subprocess is silently dropped when an analyst moves that node. Each subprocess
    with user tasks carries its own laneSet instead.
    """
    owner: dict[str, str] = {}
    direct = {c.get("id") for c in container if isinstance(c.tag, str)}
    for lane in container.iterfind("bpmn:laneSet//bpmn:lane", NS):
        name = (lane.get("name") or "").strip()
        if name not in AUTHORITY_TYPES:
            raise SpecError(
                f"lane name {name!r} is not a known authority type {sorted(AUTHORITY_TYPES)}",
                file=str(path),
                element=lane.get("id"),
            )
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            node = _text(ref)
            if node not in direct:
                raise SpecError(
                    f"lane {lane.get('id')!r} names {node!r}, which is not a node of "
                    f"{container.get('id')!r}: give the subprocess holding it its own laneSet",
                    file=str(path),
                    element=lane.get("id"),
                )
            owner[node] = name
    return owner


def _task_info(
    task: etree._Element, pid: str, lanes: dict[str, str], forms: FormRegistry, path: Path
) -> TaskInfo:
    tid = task.get("id")
    props = {
        p.get("name"): p.get("value")
        for p in task.iterfind(
            "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS
        )
    }
    form = props.get("formJsonSchemaFilename")
    if not form:
        raise SpecError(
            "user task has no formJsonSchemaFilename property", file=str(path), element=tid
        )
    if form not in forms:
        raise SpecError(f"form {form!r} does not exist in forms/", file=str(path), element=tid)
    lane = lanes.get(tid)
    if not lane:
        container = task.getparent().get("id")
        raise SpecError(
            f"user task is in no lane of {container!r} (lanes name the competent authority; "
            "a subprocess's tasks need a lane of the subprocess's own laneSet)",
            file=str(path),
            element=tid,
        )
    rol = props.get("rol", "officer")
    if rol not in ROLES:
        raise SpecError(f"rol {rol!r} is not one of {sorted(ROLES)}", file=str(path), element=tid)
    notifies = props.get("notifica") or None
    if notifies is not None and notifies not in AUTHORITY_TYPES:
        raise SpecError(
            f"notifica {notifies!r} is not an authority type {sorted(AUTHORITY_TYPES)}",
            file=str(path),
            element=tid,
        )
    approves = tuple(a.strip() for a in (props.get("aprueba") or "").split(",") if a.strip())
    assignment = props.get("asignacion") or None
    if assignment is not None and assignment != ASSIGN_TO_OPENER:
        raise SpecError(
            f"asignacion {assignment!r} is not {ASSIGN_TO_OPENER!r}", file=str(path), element=tid
        )
    return TaskInfo(
        bpmn_id=tid,
        process_id=pid,
        name=task.get("name") or tid,
        name_en=props.get("nombre_en") or task.get("name") or tid,
        lane=lane,
        rol=rol,
        form=form,
        documentation=_text(task.find("bpmn:documentation", NS)),
        file=path.name,
        notifies=notifies,
        approves=approves,
        to_opener=assignment == ASSIGN_TO_OPENER,
    )


def _check_plazo_ids(
    ids: list[str], catalogo: CatalogoPlazos, path: Path, element: str | None
) -> None:
    known = set(catalogo.ids())
    for pid in ids:
        if pid not in known:
            raise SpecError(
                f"deadline {pid!r} is not in config/plazos.toml", file=str(path), element=element
            )


def _check_expressions(
    spec: Any, catalogo: CatalogoPlazos, tasks: dict[str, TaskInfo], file: str
) -> None:
    """Compile every condition, script and timer expression of one process spec."""
    known_forms = set(tasks) | set(CASE_FORMS)
    for ts in spec.task_specs.values():
        element = getattr(ts, "bpmn_id", None) or ts.name
        for source, mode in _expressions_of(ts):
            try:
                if mode == "eval":
                    compile_expression(source)
                else:
                    compile_script(source)
                names = marcar_calls(source, mode)
                for path in string_args(source, "valor", mode):
                    if path.split(".")[0] not in known_forms:
                        raise ExpressionError(f"valor({path!r}) names no user task")
                for fn in ("plazo", "plazo_ciclo"):
                    for pid in string_args(source, fn, mode):
                        if pid not in set(catalogo.ids()):
                            raise ExpressionError(f"{fn}({pid!r}) is not in config/plazos.toml")
            except (ExpressionError, SyntaxError) as exc:
                raise SpecError(str(exc), file=file, element=element) from exc
            for name in names:
                if name not in CASE_VARIABLES:
                    raise SpecError(
                        f"marcar({name!r}): not a declared case variable",
                        file=file,
                        element=element,
                    )


def _expressions_of(ts: Any) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for cond, _target in getattr(ts, "cond_task_specs", []) or []:
        source = cond.args[0] if hasattr(cond, "args") and cond.args else cond
        if isinstance(source, str) and source.strip():
            found.append((source, "eval"))
    for attr in ("script", "prescript", "postscript"):
        value = getattr(ts, attr, None)
        if isinstance(value, str) and value.strip():
            found.append((value, "exec"))
    condition = getattr(ts, "condition", None)
    if isinstance(condition, str) and condition.strip():
        found.append((condition, "eval"))
    event = getattr(ts, "event_definition", None)
    expression = getattr(event, "expression", None)
    if isinstance(expression, str) and expression.strip():
        found.append((expression, "eval"))
    return found


def _version(files: list[Path], forms_dir: Path, catalogo: CatalogoPlazos) -> str:
    """Content hash of the route: cases record which definition they run on."""
    h = hashlib.sha256()
    for path in [*files, *sorted(forms_dir.glob(f"*{FORM_SUFFIX}"))]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    source = getattr(catalogo, "ruta", None)
    if source is not None and Path(source).exists():
        h.update(Path(source).read_bytes())
    return h.hexdigest()[:16]
