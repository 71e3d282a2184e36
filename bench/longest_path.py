"""Answers that drive the route down its longest path (used by bench/engine.py).

Imminent risk with urgent measures, a separated child, no shelter capacity, asylum refused and
appealed, crime and health referrals, tracing, a BIA returned once, a BID deferred once, a plan
returned once with two measures followed up twice, and a closure rejected once.
"""

from __future__ import annotations

from typing import Any

#: Per task: form fields that override the form's example. A list gives a different answer on
#: each visit of a task that is inside a loop (the last answer repeats).
LONGEST_PATH_OVERRIDES: dict[str, Any] = {
    "registrar_deteccion": {
        "riesgo_inminente": True,
        "descripcion_riesgo": "Adulto no familiar la obliga a trabajar.",
    },
    "determinar_acompanamiento": {"situacion": "separado", "relacion_adulto": "otro_familiar"},
    "admitir_en_cas": [{"hay_cupo": False}, {"hay_cupo": True}],
    "detectar_necesidades": {
        "indicadores_proteccion_internacional": True,
        "motivos_proteccion": ["violencia_pandillas_reclutamiento"],
        "expresa_deseo_solicitar_asilo": True,
        "indicadores_delito": True,
        "tipos_delito": ["explotacion_laboral"],
        "necesidades_salud": True,
        "condiciones_salud": ["desnutricion"],
    },
    "resolver_solicitud": {"accion": "resolver", "resultado": "negado"},
    "interponer_recurso_revision": {"interpone_recurso": True},
    "aprobar_bia": [{"decision": "devolver", "comentarios": "Falta la opinión de la NNA."}, {}],
    "consolidar_bia": {"requiere_bid": True, "direccion_bid": "soluciones_duraderas_no_acompanada"},
    "registrar_decision_bid": [
        {"decision": "diferir", "informacion_solicitada": "Resultado de la localización familiar."},
        {},
    ],
    "aprobar_plan_restitucion": [
        {"decision": "devolver", "observaciones": "Precisar la periodicidad de las medidas."},
        {},
    ],
    "dar_seguimiento_medida": [
        {"estatus": "en_curso", "proxima_accion": "Revisar inscripción escolar."},
        {"estatus": "en_curso", "proxima_accion": "Revisar inscripción escolar."},
        {"estatus": "cumplida"},
    ],
    "aprobar_cierre": [
        {"decision": "rechazar", "observaciones": "Falta constancia de entrega."},
        {},
    ],
}

#: Tasks to take last when others are ready too.
SKIP_WHEN_ALSO_READY: set[str] = set()
