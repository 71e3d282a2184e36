"""The route as careroute executes it, as plain data: two loads compare equal exactly when they run
the same route (tasks, lanes, forms, flows, conditions, timers, loop data, scripts). Used to prove
that a modeler's round trip changed the drawing only."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.util.event import Event

from workflows.specs import RouteLibrary

#: attributes that are bookkeeping, not route semantics
SKIP = {"_wf_spec", "version", "files"}


def plain(value: Any, depth: int = 0) -> Any:
    """A comparable form of a spec attribute (objects by class and attributes)."""
    if depth > 6:
        return repr(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v, depth + 1) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, dict):
        return {
            str(k): plain(v, depth + 1) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
        }
    if isinstance(value, Event):
        return None
    attrs = getattr(value, "__dict__", None)
    if attrs is None:
        return repr(value)
    return {
        "class": type(value).__name__,
        **{k: plain(v, depth + 1) for k, v in sorted(attrs.items()) if k not in SKIP},
    }


def route_semantics(lib: RouteLibrary) -> dict[str, Any]:
    """Every process spec (and the embedded subprocess specs) plus careroute's own task and
    deadline tables (lane, form, role, notifications, legal sources)."""
    specs = {}
    for process_id, (spec, subs) in sorted(lib.specs.items()):
        for s in [spec, *subs.values()]:
            specs.setdefault(s.name, {
                "data_objects": sorted(s.data_objects),
                "io_specification": plain(s.io_specification),
                "tasks": {name: plain(ts) for name, ts in sorted(s.task_specs.items())},
            })  # fmt: skip
        specs[process_id]["subprocesses"] = sorted(subs)
    return {
        "specs": specs,
        "tasks": {k: plain(v) for k, v in sorted(lib.tasks.items())},
        "deadlines": {k: plain(v) for k, v in sorted(lib.deadlines.items())},
    }


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two semantics differ (at most a few dozen paths), for a readable assertion."""
    if type(a) is not type(b):
        return [f"{path}: {a!r} != {b!r}"]
    if isinstance(a, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(f"{path}/{key}: only in {'second' if key not in a else 'first'}")
            else:
                out += differences(a[key], b[key], f"{path}/{key}")
        return out[:40]
    if isinstance(a, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{path}[{i}]")
        ][:40]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]
