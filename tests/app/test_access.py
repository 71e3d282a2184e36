"""Least privilege: other authorities and states get 404, shelters see only their children,
oversight reads but cannot write, admins see no case."""

from __future__ import annotations

from app.route_engine import form_example


async def test_other_authority_and_state_get_404_and_never_see_tasks(api):
    folio = await api.open_case("inm-07.officer", name="Privada")
    task = (await api.open_tasks(folio))[0]
    for outsider in ("inm-27.officer", "procuraduria-27.officer", "fiscalia-07.officer"):
        assert (await api.get(outsider, f"/api/v1/cases/{folio}")).status_code == 404
        assert (await api.get(outsider, f"/api/v1/cases/{folio}/identity")).status_code == 404
        assert (await api.get(outsider, f"/api/v1/tasks/{task['task_id']}")).status_code == 404
        r = await api.post(
            outsider,
            f"/api/v1/tasks/{task['task_id']}/complete",
            json={"data": form_example("registrar_deteccion.schema.json")},
        )
        assert r.status_code == 404
        assert (
            await api.post(outsider, f"/api/v1/tasks/{task['task_id']}/claim")
        ).status_code == 404
        inbox = await api.get(
            outsider, "/api/v1/inbox", params={"scope": "authority", "limit": 200}
        )
        assert folio not in [i["folio"] for i in inbox.json()["items"]]
        listed = await api.get(outsider, "/api/v1/cases", params={"limit": 200})
        assert folio not in [c["folio"] for c in listed.json()["items"]]
    # the same answer as for a case that does not exist
    assert (await api.get("inm-27.officer", "/api/v1/cases/CHIS-1999-999999")).status_code == 404
    # the opening authority does see it
    assert (await api.get("inm-07.officer", f"/api/v1/cases/{folio}")).status_code == 200


async def test_task_of_another_authority_on_a_visible_case_is_hidden(api):
    folio = await api.open_case("inm-07.officer")
    await api.complete(folio, "registrar_deteccion")
    await api.complete(folio, "notificar_procuraduria")
    await api.complete(folio, "emitir_acta_canalizacion")
    task = (await api.open_tasks(folio))[0]
    assert task["authority"] == "PROCURADURIA-07"
    # INM still sees the case it opened, but not the Procuraduría's task
    assert (await api.get("inm-07.officer", f"/api/v1/cases/{folio}")).status_code == 200
    assert (await api.get("inm-07.officer", f"/api/v1/tasks/{task['task_id']}")).status_code == 404
    ok = await api.get("procuraduria-07.officer", f"/api/v1/tasks/{task['task_id']}")
    assert ok.status_code == 200


async def test_shelter_staff_see_only_their_shelters_children(api):
    folio = await api.open_case("inm-07.officer", name="Albergada")
    admission = await api.drive_until(folio, "admitir_en_cas")
    assert admission["authority"] == "CAS-07-TAPACHULA"
    await api.complete(folio, "admitir_en_cas")
    other = await api.open_case("inm-07.officer", name="Sin albergue")

    tap, tux = "cas-07-tapachula.shelter-staff", "cas-07-tuxtla.shelter-staff"
    assert (await api.get(tap, f"/api/v1/cases/{folio}")).status_code == 200
    assert (await api.get(tap, f"/api/v1/cases/{other}")).status_code == 404
    assert (await api.get(tux, f"/api/v1/cases/{folio}")).status_code == 404
    listed = (await api.get(tap, "/api/v1/cases", params={"limit": 200})).json()["items"]
    assert folio in [c["folio"] for c in listed] and other not in [c["folio"] for c in listed]
    children = (await api.get(tap, "/api/v1/shelters")).json()
    tap_id = next(s["id"] for s in children if s["code"] == "CAS-07-TAPACHULA")
    assert folio in [
        c["folio"] for c in (await api.get(tap, f"/api/v1/shelters/{tap_id}/children")).json()
    ]
    assert (await api.get(tux, f"/api/v1/shelters/{tap_id}/children")).json() == []


async def test_oversight_reads_everything_but_cannot_write(api):
    folio = await api.open_case("inm-07.officer")
    task = (await api.open_tasks(folio))[0]
    who = "cndh.oversight"
    assert (await api.get(who, f"/api/v1/cases/{folio}")).status_code == 200
    assert (await api.get(who, f"/api/v1/cases/{folio}/identity")).status_code == 200
    assert (await api.get(who, f"/api/v1/tasks/{task['task_id']}")).status_code == 200
    assert (await api.get(who, "/api/v1/audit", params={"case": folio})).status_code == 200
    data = {"data": form_example("registrar_deteccion.schema.json")}
    r = await api.post(who, f"/api/v1/tasks/{task['task_id']}/complete", json=data)
    assert r.status_code == 403
    assert (await api.post(who, f"/api/v1/tasks/{task['task_id']}/claim")).status_code == 403
    r = await api.post(
        who,
        "/api/v1/cases",
        json={"form": form_example("inicio_caso.schema.json"), "identidad": {"nombres": "X"}},
    )
    assert r.status_code == 403
    r = await api.put(who, f"/api/v1/cases/{folio}/identity", json={"nombres": "Otro"})
    assert r.status_code == 403
    r = await api.post(who, f"/api/v1/cases/{folio}/relocate", json={"estado": "27"})
    assert r.status_code == 403
    assert (await api.get(who, "/api/v1/inbox")).status_code == 403
    # nothing changed
    assert (await api.open_tasks(folio))[0]["status"] == "open"


async def test_admin_manages_accounts_but_sees_no_case(api):
    folio = await api.open_case("inm-07.officer")
    assert (await api.get("sistema.admin", f"/api/v1/cases/{folio}")).status_code == 404
    assert (await api.get("sistema.admin", "/api/v1/cases")).status_code == 403
    r = await api.post(
        "sistema.admin",
        "/api/v1/users",
        json={
            "username": "nuevo.oficial",
            "display_name": "Nuevo",
            "role": "officer",
            "authority": "INM-27",
            "password": "short",
        },
    )
    assert r.status_code == 422
    assert [e["path"] for e in r.json()["errors"]] == ["$.password"]
    r = await api.post(
        "procuraduria-07.head",
        "/api/v1/users",
        json={
            "username": "colado",
            "display_name": "X",
            "role": "admin",
            "authority": "INM-27",
            "password": "long-enough-password",
        },
    )
    assert r.status_code == 403


async def test_opening_outside_jurisdiction_is_refused(api):
    r = await api.post(
        "inm-27.officer",
        "/api/v1/cases",
        json={"form": form_example("inicio_caso.schema.json"), "identidad": {"nombres": "X"}},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "$.form.jurisdiccion"


async def test_an_unknown_shelter_in_the_path_is_404(api):
    r = await api.get("cndh.oversight", "/api/v1/shelters/999999/children")
    assert r.status_code == 404 and r.json()["detail"] == "shelter not found"
