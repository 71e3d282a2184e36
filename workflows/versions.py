"""Route versions: the files of a version, an engine per version, and moving a case between them.

A case runs on the route version it was started on (its envelope's ``spec_version``, the content
hash of bpmn/, forms/ and config/plazos.toml) until it is migrated explicitly. The app stores each
version's files (``RouteSnapshot``) so that any server can rebuild that version's engine; this
module knows nothing of where they are stored.

A migration renames the elements a case holds (``ElementMapping``: old element id -> new element
id), then moves it only when every element it *reached* exists in the target version; elements it
has not reached yet are predicted again from the target's diagram. Task ids (the task index's
keys) and armed timers (legal deadlines, whose due dates are facts) are kept as they are, never
re-armed. Every migration is recorded in the case (``meta["migrations"]``) with exactly what it
renamed, so it can be reverted.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState

from .errors import EngineError, StateFormatError
from .forms import FORM_SUFFIX

if TYPE_CHECKING:
    from .engine import Case, RouteEngine
    from .specs import RouteLibrary

#: Task states that mean the case reached the element (it ran, waits, or was cancelled there).
_REACHED = (
    TaskState.WAITING
    | TaskState.READY
    | TaskState.STARTED
    | TaskState.COMPLETED
    | TaskState.ERROR
    | TaskState.CANCELLED
)
_FINISHED = TaskState.COMPLETED | TaskState.ERROR | TaskState.CANCELLED
#: Element ids: BPMN ids (NCName-like); a mapping may name nothing else.
_ELEMENT_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$")
#: Keys a mapping file may have (docs/route-versions.md).
_MAPPING_KEYS = {"from_version", "to_version", "elements"}


class MigrationBlocked(EngineError):
    """The case cannot move to the target version; ``reasons`` says why, one line each."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class MappingError(EngineError):
    """A mapping file that cannot be used; the message names the key and the problem."""


# --------------------------------------------------------------------------- the files
@dataclass(frozen=True)
class RouteSnapshot:
    """The files of one route version, by relative path (``bpmn/x.bpmn``, ``forms/y.schema.json``,
    ``config/plazos.toml``), and its content hash, computed as ``load_library`` computes it."""

    files: Mapping[str, bytes]

    @property
    def version(self) -> str:
        h = hashlib.sha256()
        bpmn = sorted(p for p in self.files if p.startswith("bpmn/"))
        forms = sorted(p for p in self.files if p.startswith("forms/"))
        for path in [*bpmn, *forms]:
            h.update(path.split("/", 1)[1].encode())
            h.update(self.files[path])
        if "config/plazos.toml" in self.files:
            h.update(self.files["config/plazos.toml"])
        return h.hexdigest()[:16]

    @classmethod
    def from_dirs(cls, bpmn_dir: Path, forms_dir: Path, plazos_file: Path | None) -> RouteSnapshot:
        files = {f"bpmn/{p.name}": p.read_bytes() for p in sorted(bpmn_dir.glob("*.bpmn"))}
        for p in sorted(forms_dir.glob(f"*{FORM_SUFFIX}")):
            files[f"forms/{p.name}"] = p.read_bytes()
        if plazos_file is not None and plazos_file.exists():
            files["config/plazos.toml"] = plazos_file.read_bytes()
        return cls(files)

    @classmethod
    def of_library(cls, library: RouteLibrary) -> RouteSnapshot:
        """The files a loaded library was read from (checked: same content hash)."""
        from .route_files import bpmn_dir, forms_dir

        plazos = getattr(library.plazos, "ruta", None)
        snap = cls.from_dirs(
            Path(library.bpmn_dir or bpmn_dir()),
            Path(library.forms_dir or forms_dir()),
            Path(plazos) if plazos else None,
        )
        if snap.version != library.version:
            raise EngineError(
                f"the route files changed since version {library.version} was loaded "
                f"(they are now {snap.version}): restart to load them"
            )
        return snap

    def to_json(self) -> str:
        """The files as JSON text (UTF-8 files; the route has no binary file)."""
        return json.dumps(
            {path: data.decode("utf-8") for path, data in sorted(self.files.items())},
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> RouteSnapshot:
        raw = json.loads(text)
        return cls({path: str(data).encode("utf-8") for path, data in raw.items()})

    def load(self) -> RouteLibrary:
        """Parse and check this version (``load_library`` on a copy of its files)."""
        from .plazos import CatalogoPlazos
        from .specs import load_library

        with tempfile.TemporaryDirectory(prefix=f"careroute-route-{self.version}-") as tmp:
            root = Path(tmp)
            for sub in ("bpmn", "forms", "config"):
                (root / sub).mkdir()
            for path, data in self.files.items():
                if not re.fullmatch(r"(bpmn|forms|config)/[A-Za-z0-9_.\-]+", path):
                    raise StateFormatError(f"route version file {path!r} is not a route file")
                (root / path).write_bytes(data)
            plazos_path = root / "config" / "plazos.toml"
            plazos = CatalogoPlazos.cargar(plazos_path) if plazos_path.exists() else None
            library = load_library(root / "bpmn", root / "forms", plazos)
        if library.version != self.version:
            raise StateFormatError(
                f"route version {self.version} loads as {library.version}: its files are not whole"
            )
        return library


# --------------------------------------------------------------------------- the mapping
@dataclass(frozen=True)
class ElementMapping:
    """Old element id -> new element id, read from a TOML file (docs/route-versions.md)."""

    elements: Mapping[str, str] = field(default_factory=dict)
    from_version: str | None = None
    to_version: str | None = None
    name: str | None = None
    #: SHA-256 of the file as read (the audit trail records it, so the file used is provable)
    sha256: str | None = None

    @classmethod
    def parse(cls, text: bytes, name: str = "mapping") -> ElementMapping:
        """Read a mapping file; ``MappingError`` names the key and what is wrong."""
        try:
            data = tomllib.loads(text.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise MappingError(f"{name}: not a TOML file: {exc}") from exc
        unknown = sorted(set(data) - _MAPPING_KEYS)
        if unknown:
            raise MappingError(
                f"{name}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_MAPPING_KEYS))})"
            )
        elements = data.get("elements", {})
        if not isinstance(elements, dict):
            raise MappingError(f'{name}: [elements] must be a table of old_id = "new_id"')
        for old, new in elements.items():
            if not isinstance(new, str) or not _ELEMENT_ID.match(new):
                raise MappingError(f"{name}: elements.{old} must be an element id (a string)")
            if not _ELEMENT_ID.match(old):
                raise MappingError(f"{name}: elements key {old!r} is not an element id")
        for key in ("from_version", "to_version"):
            if key in data and not isinstance(data[key], str):
                raise MappingError(f"{name}: {key} must be a string (a version number or hash)")
        return cls(
            elements=dict(elements),
            from_version=data.get("from_version"),
            to_version=data.get("to_version"),
            name=name,
            sha256=hashlib.sha256(text).hexdigest(),
        )

    def check_target(self, library: RouteLibrary) -> None:
        """Every new id is an element of the target version (else ``MappingError``)."""
        known = element_ids(library)
        for old, new in sorted(self.elements.items()):
            if new not in known:
                raise MappingError(
                    f"{self.name}: elements.{old} = {new!r}, which the target version does not have"
                )

    def rename(self, spec_name: str) -> str:
        """The new name of a task spec: an element id, or one SpiffWorkflow derived from it
        (``x.BoundaryEventSplit``, ``x [child]``)."""
        if spec_name in self.elements:
            return self.elements[spec_name]
        for sep in (".", " "):
            head, found, tail = spec_name.partition(sep)
            if found and head in self.elements:
                return f"{self.elements[head]}{sep}{tail}"
        return spec_name


def element_ids(library: RouteLibrary) -> set[str]:
    """Every task spec name and process id of a loaded route version."""
    out: set[str] = set(library.specs)
    for spec, subs in library.specs.values():
        out.update(spec.task_specs)
        for sub in subs.values():
            out.add(sub.name)
            out.update(sub.task_specs)
    return out


# --------------------------------------------------------------------------- migrating a case
@dataclass
class MigrationPlan:
    """What a migration would do to one case: ``reasons`` empty means it can move."""

    from_version: str | None
    to_version: str
    reasons: list[str] = field(default_factory=list)
    #: task uuid -> [old spec name, new spec name] (tasks and subprocesses renamed)
    renamed: dict[str, list[str]] = field(default_factory=dict)
    #: form keys moved with a renamed task: [old, new]
    forms: list[list[str]] = field(default_factory=list)
    #: tasks not reached yet whose element is gone: dropped, predicted again from the target
    repredicted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons

    @property
    def elements(self) -> list[str]:
        """The element renames applied, as ``old -> new`` (sorted, each once)."""
        return sorted({f"{o} -> {n}" for o, n in self.renamed.values()})


def _tasks(state: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(task uuid, task dict, the workflow dict holding it) for the main workflow and every
    subprocess in a serialized state."""
    for tid, task in state.get("tasks", {}).items():
        yield tid, task, state
    for sub in state.get("subprocesses", {}).values():
        for tid, task in sub.get("tasks", {}).items():
            yield tid, task, sub


def plan(
    state_json: str | bytes,
    target: RouteEngine,
    mapping: ElementMapping | None = None,
    renames: Mapping[str, str] | None = None,
    since: Mapping[str, Any] | None = None,
) -> tuple[MigrationPlan, dict[str, Any]]:
    """Plan moving a dumped case to ``target``: rename with ``mapping`` (or, to revert, with
    ``renames``: task uuid -> spec name), then check each element against the target's.
    ``since`` (a revert: the recorded migration it undoes) blocks a case that changed after that
    migration.

    Returns the plan and the rewritten envelope (to load only if ``plan.ok``)."""
    try:
        envelope = json.loads(state_json)
    except (TypeError, ValueError) as exc:
        raise StateFormatError(f"case state is not JSON: {exc}") from exc
    if not isinstance(envelope, dict) or "state" not in envelope:
        raise StateFormatError("case state is not a careroute case envelope")
    envelope = copy.deepcopy(envelope)
    result = MigrationPlan(envelope.get("spec_version"), target.library.version)
    if since is not None and not since.get("state_after"):
        result.reasons.append(
            f"migration {since.get('run')} recorded no fingerprint of the case (it was made "
            "before reverts checked one), so it cannot be told whether the case changed since: "
            "migrate the case forward with a mapping instead"
        )
        return result, envelope
    if since is not None and since.get("state_after") != fingerprint(envelope):
        result.reasons.append(
            f"the case changed after migration {since.get('run')} (tasks completed, started or "
            f"fired on version {since.get('to')}): a revert would carry that work to a version "
            "it was not done on; migrate the case forward with a mapping instead"
        )
        return result, envelope
    state = envelope["state"]
    known = element_ids(target.library)
    mapping = mapping or ElementMapping()
    process_id = envelope.get("process_id")
    if process_id not in target.library.specs:
        new_pid = mapping.rename(process_id)
        if new_pid not in target.library.specs:
            result.reasons.append(f"process {process_id!r} does not exist in the target version")
            return result, envelope
        envelope["process_id"] = state["spec_name"] = new_pid
    gone: set[str] = set()
    # Subprocesses: their spec is named in the workflow dict.
    for sid, sub in state.get("subprocesses", {}).items():
        old = sub.get("spec")
        new = renames[f"sub:{sid}"] if renames and f"sub:{sid}" in renames else mapping.rename(old)
        if new != old:
            sub["spec"] = new
            result.renamed[f"sub:{sid}"] = [old, new]
        if new not in known:
            gone.add(sid)
            result.reasons.append(
                f"running subprocess {new} missing in version {target.library.version} "
                "(map it to an element of the target in a mapping file)"
            )
    drop: list[tuple[str, dict[str, Any]]] = []
    missing: set[str] = set()
    for tid, task, holder in _tasks(state):
        in_gone = holder is not state and _sid(state, holder) in gone
        old = task["task_spec"]
        new = renames[tid] if renames and tid in renames else mapping.rename(old)
        if new != old:
            task["task_spec"] = new
            result.renamed[tid] = [old, new]
        if in_gone:
            # The running subprocess itself is named above; of its tasks, name only those
            # that exist nowhere in the target (what the next dry run would name next).
            if task["state"] & _REACHED and new not in known:
                missing.add(re.split(r"[. ]", new, maxsplit=1)[0])
            continue
        if _spec_exists(new, holder, state, target):
            continue
        parent = holder["tasks"].get(task.get("parent") or "")
        reached = task["state"] & _REACHED or (
            task["state"] & TaskState.FUTURE and parent is not None and parent["state"] & _FINISHED
        )
        if reached:
            missing.add(re.split(r"[. ]", new, maxsplit=1)[0])
        else:
            drop.append((tid, holder))
    if missing:
        names = ", ".join(sorted(missing)[:10])
        result.reasons.append(
            f"reached elements missing in version {target.library.version}: {names} "
            "(map each to an element of the target in a mapping file)"
        )
    for tid, holder in drop:
        if tid in holder["tasks"]:
            result.repredicted.append(holder["tasks"][tid]["task_spec"])
            _drop(holder, tid)
    forms = envelope.get("meta", {}).get("forms", {})
    pairs = {tuple(p) for p in result.renamed.values()}
    for old, new in sorted(pairs):
        if old in forms and new not in forms:
            forms[new] = forms.pop(old)
            result.forms.append([old, new])
    moved = dict(pairs)
    for record in envelope.get("meta", {}).get("timers", {}).values():
        for key in ("bpmn_id", "attached_bpmn_id"):
            if record.get(key):
                record[key] = moved.get(record[key], record[key])
    envelope["spec_version"] = target.library.version
    return result, envelope


def _sid(state: dict[str, Any], holder: dict[str, Any]) -> str | None:
    for sid, sub in state.get("subprocesses", {}).items():
        if sub is holder:
            return sid
    return None


def _spec_exists(name: str, holder: dict[str, Any], state: dict[str, Any], target: Any) -> bool:
    specs = target.library.specs
    if holder is state:
        spec = specs[state["spec_name"]][0]
        return name in spec.task_specs
    sub_name = holder.get("spec")
    top = specs[state["spec_name"]][1]
    sub = top.get(sub_name)
    return sub is not None and name in sub.task_specs


def _drop(holder: dict[str, Any], tid: str) -> None:
    """Remove a task not reached yet, with its subtree, from a serialized workflow."""
    tasks = holder["tasks"]
    task = tasks.pop(tid, None)
    if task is None:
        return
    for child in list(task.get("children", [])):
        _drop(holder, child)
    parent = tasks.get(task.get("parent") or "")
    if parent is not None and tid in parent.get("children", []):
        parent["children"].remove(tid)


def migrate(
    state_json: str | bytes,
    target: RouteEngine,
    mapping: ElementMapping | None = None,
    *,
    run: str | None = None,
    at: str | None = None,
    renames: Mapping[str, str] | None = None,
    since: Mapping[str, Any] | None = None,
) -> tuple[Case, MigrationPlan]:
    """Move a dumped case to ``target`` (``MigrationBlocked`` naming why not): the case on the
    target version, with this migration recorded in ``meta["migrations"]`` (with the
    fingerprint of the state it left, so a revert can tell whether anything happened since)."""
    result, envelope = plan(state_json, target, mapping, renames, since)
    if not result.ok:
        raise MigrationBlocked(result.reasons)
    try:
        case = target.restore(json.dumps(envelope))
        _repredict(case)
        case = target.restore(case.dump())  # it must load as saved
    except (StateFormatError, EngineError) as exc:
        raise MigrationBlocked([f"the case does not load on the target version: {exc}"]) from exc
    except Exception as exc:  # SpiffWorkflow's own errors on a structure it cannot follow
        raise MigrationBlocked([f"the route's structure around the case changed: {exc}"]) from exc
    case.meta.setdefault("migrations", []).append(
        {
            "run": run,
            "at": at,
            "from": result.from_version,
            "to": result.to_version,
            "mapping": mapping.name if mapping and mapping.elements else None,
            "mapping_sha256": mapping.sha256 if mapping and mapping.elements else None,
            "renamed": result.renamed,
            "forms": result.forms,
            "revert_of": None,
            "state_after": fingerprint(json.loads(case.dump())),
        }
    )
    return case, result


def fingerprint(envelope: Mapping[str, Any]) -> str:
    """What a case has done, as a hash: every task it reached (id, element, state, in every
    subprocess), its timers (due instant, levels fired) and the forms it submitted. Two dumps of
    a case that did nothing in between have the same fingerprint (predicted tasks, which the
    engine may draw again with new ids, do not count)."""
    state = envelope.get("state") or {}
    tasks = sorted(
        (tid, task.get("task_spec"), task.get("state"))
        for tid, task, _ in _tasks(state)
        if task.get("state", 0) & _REACHED
    )
    meta = envelope.get("meta") or {}
    timers = sorted(
        (key, r.get("due"), r.get("cycles"), r.get("levels"), bool(r.get("done")))
        for key, r in (meta.get("timers") or {}).items()
    )
    forms = sorted(meta.get("forms") or {})
    blob = json.dumps([tasks, timers, forms], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def revert_renames(entry: Mapping[str, Any]) -> dict[str, str]:
    """Task uuid -> old spec name: the inverse of what a recorded migration renamed."""
    return {tid: pair[0] for tid, pair in (entry.get("renamed") or {}).items()}


def revert_mapping(entry: Mapping[str, Any]) -> ElementMapping:
    """New element -> old element, for tasks a case reached after the recorded migration (a
    loop back to a renamed task): each new id that one old id became."""
    olds: dict[str, set[str]] = {}
    for old, new in (entry.get("renamed") or {}).values():
        olds.setdefault(new, set()).add(old)
    return ElementMapping(
        elements={new: next(iter(o)) for new, o in olds.items() if len(o) == 1},
        name=f"revert of {entry.get('run')}",
    )


def _repredict(case: Case) -> None:
    """Drop unfinished children an unfinished task's new diagram no longer leads to, then
    predict its branch again from the target version (the engine follows it from there)."""
    workflows = [case.workflow, *case.workflow.subprocesses.values()]
    for wf in workflows:
        for task in list(wf.tasks.values()):
            if task.id not in wf.tasks or not task.has_state(TaskState.DEFINITE_MASK):
                continue
            if not task.children or _is_boundary_child(task):
                continue
            outputs = set(task.task_spec.outputs)
            if {c.task_spec for c in task.children} == outputs:
                continue  # the diagram around this task did not change
            for child in list(task.children):
                if child.triggered or child.has_state(_REACHED):
                    continue
                if child.task_spec not in outputs:
                    wf._remove_task(child.id)  # noqa: SLF001 - a branch not reached yet
            task.task_spec._predict(task, mask=TaskState.NOT_FINISHED_MASK)  # noqa: SLF001


def _is_boundary_child(task: Any) -> bool:
    return "BoundaryEventSplit" in type(task.task_spec).__name__


def task_uuid(value: str) -> UUID:
    return UUID(value.removeprefix("sub:"))
