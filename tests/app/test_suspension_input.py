"""A suspension of terms for a jurisdiction that does not exist is refused before it is stored.

The service accepted any two digits ("90"), committed the row, and only then the engine's calendar
refused it: that request answered 500, and every later load of the suspensions (each new
suspension, the worker's tick, server start-up) failed on the stored row. Found by schemathesis.
"""

from __future__ import annotations

from app.services import suspensions


async def test_unknown_jurisdiccion_is_422_and_nothing_is_stored(api):
    before = await api.get("sistema.admin", "/api/v1/suspensions")
    assert before.status_code == 200
    r = await api.post(
        "sistema.admin",
        "/api/v1/suspensions",
        json={
            "jurisdiccion": "90",
            "desde": "2026-12-24",
            "hasta": "2026-12-26",
            "motivo": "acuerdo",
            "fuente": "DOF",
        },
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [
        {"path": "$.jurisdiccion", "message": "must be an INEGI code, 00 (federal) to 32"}
    ]
    after = await api.get("sistema.admin", "/api/v1/suspensions")
    assert after.json() == before.json()
    await suspensions.load_suspensions()  # the stored suspensions still load
