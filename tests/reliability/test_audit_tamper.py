"""Someone who can write the database rewrites history (issue 15, item 6): random events are
changed without touching the hashes, changed with every later hash recomputed, deleted with the
rest re-chained, or the tail is cut. Each attempt runs in a rolled-back transaction on the
suite's database; each must be detected against the checkpoints exported before it. The count
goes to the summary line ("rewritten-history attempts detected N/N")."""

from __future__ import annotations

import os
import random

import pytest

from app import audit
from app.services import checkpoints
from app.tables import AuditEvent
from tests.app.tamper import delete_one, rewrite, tampering, truncate
from tests.reliability.stats import STATS

pytestmark = pytest.mark.reliability

#: attempts of each kind (CAREROUTE_TAMPER_ATTEMPTS)
PER_KIND = int(os.environ.get("CAREROUTE_TAMPER_ATTEMPTS", "6"))
#: how far back before the checkpoint an attack reaches (events re-chained after it)
REACH = 150


async def _attack(kind: str, target: int) -> None:
    if kind == "rewrite":
        await rewrite(target, recompute=False)
    elif kind == "rewrite+recompute":
        await rewrite(target)
    elif kind == "delete+recompute":
        await delete_one(target)
    else:  # truncate: the target and everything after it
        await truncate(target)


async def test_every_rewritten_history_is_detected_against_the_checkpoints(api, tmp_path):
    for _ in range(3):  # a history to attack, whatever ran before
        await api.open_case("inm-07.officer")
    exported = tmp_path / "checkpoints.json"
    doc = await checkpoints.export(exported)
    head = doc["checkpoints"][-1]
    await api.open_case("inm-07.officer")  # and the chain goes on after the checkpoint
    assert (await checkpoints.verify(exported))[0].ok
    ids = [
        r["id"]
        for r in await AuditEvent.select(AuditEvent.id)
        .where(AuditEvent.id <= head["event_id"])
        .order_by(AuditEvent.id, ascending=False)
        .limit(REACH)
    ]
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    kinds = ["rewrite", "rewrite+recompute", "delete+recompute", "truncate"]
    missed, fooled_chain = [], 0
    for kind in kinds:
        for _ in range(PER_KIND):
            target = rng.choice(ids)
            async with tampering():
                await _attack(kind, target)
                fooled_chain += (await audit.verify()).ok
                result, _ = await checkpoints.verify(exported)
            STATS.add("history_tried")
            if result.ok:
                missed.append((kind, target))
            else:
                STATS.add("history_detected")
    print(
        f"rewritten history (seed {seed}): {len(kinds) * PER_KIND} attempts, "
        f"{fooled_chain} passed the chain alone, {len(missed)} passed the checkpoints"
    )
    assert missed == [], f"seed {seed}: undetected {missed}"
    assert fooled_chain >= 3 * PER_KIND, "the recomputing attacks must fool the chain alone"
    assert (await checkpoints.verify(exported))[0].ok  # every attack was rolled back
