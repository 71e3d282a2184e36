"""Route versions in the engine layer: a version's files, a mapping file, and moving a case.

The target is the real route with INM's channelling record renamed (tests/versions/variant.py),
the edit an analyst makes most: cases that have not reached the element move as they are, cases
that reached it are blocked until a mapping names its new id, and a recorded move can be undone.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

import pytest

from tests.route.driver import route_engine
from tests.route.test_main_route import start, walk
from tests.versions.variant import NEW, OLD, route_variant
from workflows import RouteEngine
from workflows.versions import (
    ElementMapping,
    MappingError,
    MigrationBlocked,
    RouteSnapshot,
    migrate,
    plan,
    revert_renames,
)

MAPPING = f'from_version = "1"\n[elements]\n{OLD} = "{NEW}"\n'.encode()


@lru_cache(maxsize=1)
def target() -> RouteEngine:
    import tempfile
    from pathlib import Path

    return RouteEngine(route_variant(Path(tempfile.mkdtemp())).load())


def _at(stop: str | None):
    d = start()
    if stop:
        walk(d, stop=stop)
    return d


def test_a_snapshot_has_the_version_of_the_library_it_was_read_from(tmp_path):
    lib = route_engine().library
    snap = RouteSnapshot.of_library(lib)
    assert snap.version == lib.version
    assert {p.split("/")[0] for p in snap.files} == {"bpmn", "forms", "config"}
    again = RouteSnapshot.from_json(snap.to_json())
    assert again.version == lib.version and again.load().version == lib.version
    assert target().library.version != lib.version


def test_dry_plan_by_position_on_the_route():
    """Not reached yet: moves (the renamed element is predicted again from the new diagram);
    waiting at it, or past it: blocked, naming the element."""
    before, _ = plan(_at(None).state, target())
    assert before.ok and before.renamed == {}
    for stop in (OLD, "determinar_acompanamiento"):
        result, _ = plan(_at(stop).state, target())
        assert not result.ok
        assert result.reasons == [
            f"reached elements missing in version {target().library.version}: {OLD} "
            "(map each to an element of the target in a mapping file)"
        ]


def test_a_mapping_unblocks_and_the_case_keeps_its_tasks_deadlines_and_forms():
    d = _at(OLD)
    original = route_engine().restore(d.state)
    mapping = ElementMapping.parse(MAPPING, "acta.toml")
    assert mapping.sha256 == hashlib.sha256(MAPPING).hexdigest()
    case, result = migrate(d.state, target(), mapping, run="r1")
    assert result.ok and f"{OLD} -> {NEW}" in result.elements
    envelope = json.loads(case.dump())
    assert envelope["spec_version"] == target().library.version
    # the same task (its id is the task index's key), now the new element, same deadline
    (old_task,) = original.ready_tasks()
    (new_task,) = case.ready_tasks()
    assert (new_task.task_id, new_task.bpmn_id) == (old_task.task_id, NEW)
    assert new_task.due_at == old_task.due_at and new_task.deadline_id == old_task.deadline_id
    assert case.next_due_at() == original.next_due_at()
    entry = case.meta["migrations"][-1]
    assert entry["run"] == "r1" and entry["mapping_sha256"] == mapping.sha256
    assert entry["from"] == route_engine().library.version
    # the case runs on: the renamed task completes with its (renamed) form and the route goes on
    form = route_engine().library.forms.schemas[f"{OLD}.schema.json"]["examples"][0]
    case.complete_task(new_task.task_id, form, d.now)
    assert NEW in case.forms and "determinar_acompanamiento" in [
        t.bpmn_id for t in case.ready_tasks()
    ]


def test_forms_of_a_renamed_task_move_with_it_and_revert_undoes_exactly_the_run():
    d = _at("determinar_acompanamiento")
    mapping = ElementMapping.parse(MAPPING, "acta.toml")
    moved, _ = migrate(d.state, target(), mapping, run="r2")
    assert NEW in moved.forms and OLD not in moved.forms
    entry = moved.meta["migrations"][-1]
    back, result = migrate(
        moved.dump(), route_engine(), None, run="revert-r2", renames=revert_renames(entry)
    )
    assert result.ok and json.loads(back.dump())["spec_version"] == route_engine().library.version
    assert OLD in back.forms and NEW not in back.forms
    original = route_engine().restore(d.state)
    names = {str(t.id): (t.task_spec.name, t.state) for t in original._all_tasks()}  # noqa: SLF001
    again = {str(t.id): (t.task_spec.name, t.state) for t in back._all_tasks()}  # noqa: SLF001
    assert again == names
    assert [m["run"] for m in back.meta["migrations"]] == ["r2", "revert-r2"]


def test_blocked_migration_changes_nothing():
    d = _at(OLD)
    with pytest.raises(MigrationBlocked, match=OLD):
        migrate(d.state, target())
    assert json.loads(d.state)["spec_version"] == route_engine().library.version


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"[elements\n", "not a TOML file"),
        (b'extra = "x"\n', "unknown key 'extra'"),
        (b"[elements]\na = 3\n", "elements.a must be an element id"),
        (b'elements = "a"\n', "must be a table"),
        (b"from_version = 2\n", "from_version must be a string"),
    ],
)
def test_a_bad_mapping_file_names_the_key(text, message):
    with pytest.raises(MappingError, match=message):
        ElementMapping.parse(text, "m.toml")


def test_a_mapping_to_an_element_the_target_lacks_is_refused():
    mapping = ElementMapping.parse(f'[elements]\n{OLD} = "no_such_task"\n'.encode(), "m.toml")
    with pytest.raises(MappingError, match="no_such_task"):
        mapping.check_target(target().library)


def test_revert_maps_back_only_what_one_old_element_became():
    """Tasks a case reaches after a move (a loop back to a renamed task) revert by element;
    an element two old ones were merged into cannot, so such a task blocks the revert."""
    from workflows.versions import revert_mapping

    entry = {"run": "r", "renamed": {"u1": ["a", "b"], "u2": ["c", "b"], "u3": ["d", "e"]}}
    assert dict(revert_mapping(entry).elements) == {"e": "d"}
