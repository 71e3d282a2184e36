"""Engine benchmark: the cost of completing one user task along the longest path of the route.

One "completion" is what the service does per request: restore the case from JSON, validate the
form, complete the task and run the engine to the next wait, serialize the case again. Each step of
the path is replayed ``--repeat`` times from the same saved state, so every figure is a median of
identical work. Prints the median and p95 over all steps, the serialized size after the 1st, 10th
and last task, and the ratio of the last task's cost to the first's (goal: under 2).

Usage: python bench/engine.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.longest_path import LONGEST_PATH_OVERRIDES, SKIP_WHEN_ALSO_READY  # noqa: E402
from tests.route.driver import DEFAULT_NOW, form_example  # noqa: E402
from workflows import FormValidationError, RouteEngine, load_library  # noqa: E402


def walk(
    engine: RouteEngine, max_steps: int = 400
) -> tuple[list[tuple[str, str, dict[str, Any]]], str | None]:
    """Drive the longest path once; return (state before, task bpmn id, data) per step."""
    now = DEFAULT_NOW
    case = engine.start_case(form_example(engine, "inicio_caso.schema.json"), now)
    state = case.dump()
    steps: list[tuple[str, str, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    while len(steps) < max_steps:
        case = engine.restore(state)
        ready = case.ready_tasks()
        if not ready:
            due = case.next_due_at()
            if case.is_completed or due is None:
                break
            now = max(now, due) + timedelta(seconds=1)  # a wait (follow-up period) elapses
            case.fire_timers(now)
            state = case.dump()
            continue
        ready.sort(key=lambda t: (t.bpmn_id in SKIP_WHEN_ALSO_READY and len(ready) > 1, t.bpmn_id))
        task = ready[0]
        visit = seen.get(task.bpmn_id, 0)
        seen[task.bpmn_id] = visit + 1
        data = form_example(engine, task.form_name)
        overrides = LONGEST_PATH_OVERRIDES.get(task.bpmn_id, {})
        if isinstance(overrides, list):  # a different answer on each visit (loops)
            overrides = overrides[min(visit, len(overrides) - 1)]
        data.update(copy.deepcopy(overrides))
        now += timedelta(hours=1)
        steps.append((state, task.task_id, data))
        try:
            case.complete_task(task.task_id, data, now)
        except FormValidationError as exc:
            raise SystemExit(f"longest path: {task.bpmn_id}: {exc.errors}") from exc
        state = case.dump()
    return steps, engine.restore(state).end_state


def replay(
    engine: RouteEngine, state: str, task_id: str, data: dict[str, Any], repeat: int
) -> tuple[float, int]:
    """Median seconds of restore + validate + complete + serialize, and the resulting size."""
    times, size = [], 0
    now = DEFAULT_NOW + timedelta(days=400)
    for _ in range(repeat):
        t0 = time.perf_counter()
        case = engine.restore(state)
        case.complete_task(task_id, data, now)
        out = case.dump()
        times.append(time.perf_counter() - t0)
        size = len(out.encode())
    return statistics.median(times), size


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=15, help="replays of each step (default 15)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    library = load_library()
    load_s = time.perf_counter() - t0
    engine = RouteEngine(library)
    steps, end = walk(engine)
    costs, sizes = [], []
    for state, task_id, data in steps:
        cost, size = replay(engine, state, task_id, data, args.repeat)
        costs.append(cost)
        sizes.append(size)
    n = len(steps)
    print(
        f"route loaded and checked in {load_s * 1000:.0f} ms ({len(library.files)} BPMN files, {len(library.tasks)} user tasks)"
    )
    print(f"longest path: {n} user tasks, each replayed {args.repeat} times; ended: {end}")
    print(
        f"completion (restore + validate + engine + serialize): median {statistics.median(costs) * 1000:.2f} ms, "
        f"p95 {percentile(costs, 95) * 1000:.2f} ms"
    )
    for label, index in (("1st", 0), ("10th", 9), ("last", n - 1)):
        if 0 <= index < n:
            print(f"serialized size after the {label} task: {sizes[index]:,} bytes")
    first, last = costs[0], costs[-1]
    print(
        f"first task {first * 1000:.2f} ms, last task {last * 1000:.2f} ms, ratio last/first {last / first:.2f} (goal < 2)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
