"""docs/care-route.md is generated from the route; it must match the files that ship."""

from __future__ import annotations

import subprocess
import sys

from workflows.specs import REPO_ROOT


def test_care_route_doc_is_current():
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "route_doc.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_care_route_doc_lists_every_deadline_and_marks_unconfirmed():
    text = (REPO_ROOT / "docs" / "care-route.md").read_text(encoding="utf-8")
    assert "`D12_notificacion_comar_inm` **[U]**" in text
    assert "`D13_resolucion_comar` |" in text  # confirmed by the text of LRPCAP art. 24
    assert "`D5_decreto_mp` |" in text


def test_care_route_doc_says_what_each_interrupting_event_stops():
    text = (REPO_ROOT / "docs" / "care-route.md").read_text(encoding="utf-8")
    section = text[text.index("## What stops what") :]
    rows = {
        line.split("|")[2].strip().split(" ")[0]: line
        for line in section.splitlines()
        if line.startswith("| `ruta_proteccion_nna` |")
    }
    assert set(rows) == {
        "`ruta_cumple_mayoria_edad`",
        "`ruta_nna_no_localizada`",
        "`prot_nueva_informacion_bid`",
        "`prot_proteccion_concluida`",
        "`ruta_edad_adulta_determinada`",
        "`prot_edad_proteccion_concluida`",
        "`vr_proteccion_concluida`",
        "`vt_proteccion_concluida`",
    }
    # the late watches' own stops end only the wait: never urgent measures or a COMAR referral
    for watch in ("`vr_proteccion_concluida`", "`vt_proteccion_concluida`"):
        assert "none (a wait, no user task)" in rows[watch]
    # the age watch's own stop (protection concluded) stops only the age tasks, never a claim
    assert "`determinar_edad`" in rows["`prot_edad_proteccion_concluida`"]
    assert "`entrevista_elegibilidad`" not in rows["`prot_edad_proteccion_concluida`"]
    assert "`resolver_medida_urgente`" in rows["`ruta_nna_no_localizada`"]
    assert "`entrevista_elegibilidad`" not in rows["`prot_nueva_informacion_bid`"]
    assert "none (a wait, no user task)" in rows["`prot_proteccion_concluida`"]
    # the child leaving a placement stops nothing
    [departure] = [line for line in section.splitlines() if "`nna_salio_colocacion` |" in line]
    assert departure.endswith("| no | nothing |")
    # nor does a late report of imminent risk or of fear of return
    for message in ("riesgo_inminente_reportado", "temor_retorno_reportado"):
        [row] = [line for line in section.splitlines() if f"`{message}` |" in line]
        assert row.endswith("| no | nothing |")
    # the consular block stops only the consular channel of family tracing
    [block] = [
        line
        for line in section.splitlines()
        if line.startswith("| `localizacion_reunificacion` | `lf_bloqueo_consular`")
    ]
    assert "thrown by `vt_avisar_bloqueo_consular`" in block
    assert "`localizar_otras_vias`" not in block


def test_worked_deadline_table_is_current():
    """docs/deadlines.md's worked table is generated from config/plazos.toml by the engine's
    own deadline code (tools/deadline_table.py): it cannot drift from the configuration."""
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "deadline_table.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text = (REPO_ROOT / "docs" / "deadlines.md").read_text(encoding="utf-8")
    # D5 (3 h from receipt of the request) from the example start, Monday 10:00 local
    assert "| `D5_decreto_mp` |" in text and "| Mon 2027-03-22 13:00 |" in text


def test_every_guarantee_names_tests_that_exist_and_a_legal_source():
    """The guarantees table (docs/care-route.md) is generated from workflows/guarantees.py: each
    row names its legal source, where it is enforced and tests that really exist."""
    import re

    from workflows.guarantees import GUARANTEES

    assert len({g.name for g in GUARANTEES}) == len(GUARANTEES)
    for g in GUARANTEES:
        assert g.legal_source and g.enforced_in and g.tests, g.name
        for ref in g.tests:
            path, _, function = ref.partition("::")
            text = (REPO_ROOT / path).read_text(encoding="utf-8")
            if function:
                assert re.search(rf"^(async )?def {function}\(", text, re.M), ref
