"""Case state as JSON, without the process definition.

SpiffWorkflow embeds the whole process spec in every serialized workflow (two thirds of a fresh
case). Cases here store only their task tree plus our own envelope; the spec objects come from the
loaded route library, keyed by the library's content version, so each definition is stored once.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from .errors import StateFormatError

FORMAT = "careroute-case/1"


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Like SpiffWorkflow's converter, but the spec is named, not embedded."""

    spec_source: dict[str, tuple[Any, dict[str, Any]]] = {}

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["spec_name"] = workflow.spec.name
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        name = dct.pop("spec_name")
        source = self.registry.careroute_specs  # type: ignore[attr-defined]
        if name not in source:
            raise StateFormatError(f"process {name!r} is not in the loaded route")
        spec, subprocess_specs = source[name]
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class CaseSerializer:
    """Dump and load the JSON envelope ``{format, spec_version, process_id, meta, state}``."""

    def __init__(self, specs: dict[str, tuple[Any, dict[str, Any]]], spec_version: str):
        config = dict(SPIFF_CONFIG)
        config[BpmnWorkflow] = _SpeclessWorkflowConverter
        registry = BpmnWorkflowSerializer.configure(config)
        registry.careroute_specs = specs  # type: ignore[attr-defined]
        self._serializer = BpmnWorkflowSerializer(registry)
        self.spec_version = spec_version

    def dump(self, workflow: BpmnWorkflow, process_id: str, meta: dict[str, Any]) -> str:
        state = self._serializer.serialize_json(workflow)
        head = json.dumps(
            {"format": FORMAT, "spec_version": self.spec_version, "process_id": process_id},
            separators=(",", ":"),
        )
        meta_json = json.dumps(meta, separators=(",", ":"), ensure_ascii=False)
        return f'{head[:-1]},"meta":{meta_json},"state":{state}}}'

    def load(self, text: str | bytes) -> tuple[BpmnWorkflow, str, dict[str, Any]]:
        try:
            envelope = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise StateFormatError(f"case state is not JSON: {exc}") from exc
        if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
            raise StateFormatError(f"case state format is not {FORMAT}")
        state = envelope["state"]
        meta = envelope.get("meta", {})
        if envelope.get("spec_version") != self.spec_version:
            self._check_compatible(envelope)
            meta.setdefault("migrations", []).append(
                {"from": envelope.get("spec_version"), "to": self.spec_version}
            )
        self._serializer.migrate(state)
        workflow = self._serializer.from_dict(state)
        return workflow, envelope["process_id"], meta

    def _check_compatible(self, envelope: dict[str, Any]) -> None:
        """A case saved on an older route version moves to this one when every element it has
        reached still exists (documentation, forms, conditions or deadlines changed); otherwise it
        is refused, naming the elements that were removed, so no case silently loses its place."""
        specs = self._serializer.registry.careroute_specs  # type: ignore[attr-defined]
        process_id = envelope.get("process_id")
        if process_id not in specs:
            raise StateFormatError(f"process {process_id!r} no longer exists in the route")
        spec, subprocess_specs = specs[process_id]
        known = set(spec.task_specs)
        for sub in subprocess_specs.values():
            known.update(sub.task_specs)
        state = envelope["state"]
        used = {t["task_spec"] for t in state.get("tasks", {}).values()}
        for sub in state.get("subprocesses", {}).values():
            used.update(t["task_spec"] for t in sub.get("tasks", {}).values())
        missing = sorted(used - known)
        if missing:
            raise StateFormatError(
                f"case runs route version {envelope.get('spec_version')}; this engine has "
                f"{self.spec_version}, which no longer has {', '.join(missing[:10])}: "
                "migrate the case explicitly"
            )
