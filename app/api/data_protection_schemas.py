"""API shapes of the privacy notices, consents and the security incident log (issue 16).

Codes are plain strings here and checked by the services (a 422 naming the field, the same for
the pages); the lists they take are in app/services/data_protection.py and
app/services/security_incidents.py, and config/datos_personales.toml for recipients, bases and
notice versions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

Short = Annotated[str, msgspec.Meta(max_length=200)]
Long = Annotated[str, msgspec.Meta(max_length=8000)]


class PrivacyNoticeIn(msgspec.Struct, forbid_unknown_fields=True):
    #: a version of config/datos_personales.toml [aviso_privacidad] versiones
    version: Short
    #: integral | simplificado (LGPDPPSO art. 22)
    modalidad: Short
    #: the language catalog (workflows/guarantees.py IDIOMAS), e.g. espanol, mam, kiche
    idioma: Short
    #: verbal_lenguaje_sencillo | escrito_simplificado | material_visual | lengua_de_senas |
    #: con_interprete
    forma_explicacion: Short
    #: nna | representante | nna_y_representante
    entregado_a: Short
    #: si | parcialmente | no
    nna_comprende: Short
    #: an interpreter took part (required for a language other than Spanish)
    interprete: bool = False
    #: username of who explained it (an active user of your authority; default: you)
    explicado_por: Short | None = None
    #: when (default: now; not in the future, not before the detection)
    explicado_en: datetime | None = None
    #: free text (kept in the record, never in the audit trail)
    observaciones: Long | None = None


class NoticeRecordedOut(msgspec.Struct):
    folio: str
    notice_id: int


class ConsentIn(msgspec.Struct, forbid_unknown_fields=True):
    #: config/datos_personales.toml [destinatarios]: consulado, acnur, oim, cicr, osc
    destinatario: Short
    #: the named third party (e.g. "Consulado General de Honduras en Tapachula")
    destinatario_nombre: Short
    #: localizacion_familiar | reunificacion | reasentamiento | retorno_asistido |
    #: servicios_proteccion | otra
    finalidad: Short
    #: consiente | rechaza | base_legal
    decision: Short
    #: consent/refusal: nna | representante | nna_y_representante
    otorgado_por: Short | None = None
    #: consent/refusal: escrito_firma | firma_electronica | verbal | signos_inequivocos
    forma: Short | None = None
    #: consent/refusal: de_acuerdo | en_desacuerdo | no_expresa | no_en_condiciones
    opinion_nna: Short | None = None
    opinion_nna_texto: Long | None = None
    #: required when the case has a representative: de_acuerdo | en_desacuerdo
    opinion_representante: Short | None = None
    #: required for a consent the child disagrees with
    razones: Long | None = None
    #: base_legal: a key of config/datos_personales.toml [bases_legales]
    base_legal: Short | None = None
    #: base_legal: the order, mandate or document that founds it
    referencia_documento: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    #: when it was expressed (default: now)
    expresado_en: datetime | None = None


class ConsentRecordedOut(msgspec.Struct):
    folio: str
    consent_id: int


class WithdrawIn(msgspec.Struct, forbid_unknown_fields=True):
    #: nna | representante | autoridad
    retirado_por: Short
    motivo: Long | None = None


class WithdrawnOut(msgspec.Struct):
    folio: str
    consent_id: int
    withdrawn_at: datetime


class NoticeOut(msgspec.Struct):
    id: int
    version: str
    modalidad: str
    idioma: str
    forma_explicacion: str
    interprete: bool
    entregado_a: str
    nna_comprende: str
    observaciones: str | None
    explicado_por: str | None
    explicado_en: datetime
    recorded_at: datetime


class ConsentOut(msgspec.Struct):
    id: int
    destinatario: str
    destinatario_nombre: str
    finalidad: str
    decision: str
    otorgado_por: str | None
    forma: str | None
    opinion_nna: str | None
    opinion_nna_texto: str | None
    opinion_representante: str | None
    representante_usuario: str | None
    razones: str | None
    base_legal: str | None
    referencia_documento: str | None
    privacy_notice_id: int | None
    expresado_en: datetime
    recorded_by: str | None
    recorded_at: datetime
    withdrawn_at: datetime | None
    withdrawn_by: str | None
    retirado_por: str | None
    motivo_retiro: str | None


class SharingStatusOut(msgspec.Struct):
    destinatario: str
    permitido: bool
    #: consentimiento, or the key of the legal basis
    fundamento: str | None
    #: the rule that refuses it now
    regla: str | None


class DataProtectionOut(msgspec.Struct):
    folio: str
    avisos: list[NoticeOut]
    consentimientos: list[ConsentOut]
    estado: list[SharingStatusOut]


class IncidentIn(msgspec.Struct, forbid_unknown_fields=True):
    #: perdida_destruccion | robo_extravio_copia | uso_acceso_no_autorizado | dano_alteracion
    #: (LGPDPPSO art. 32 fr. I-IV)
    tipo: Short
    descripcion: Long
    ocurrio_en: datetime
    detectado_en: datetime
    motivo: Long | None = None
    #: identidad | expediente | formularios | notas_adjuntos | cuentas | bitacora | otros
    datos_comprometidos: Annotated[list[Short], msgspec.Meta(max_length=10)] = []
    #: folios of the cases whose data it touched
    folios: Annotated[list[Short], msgspec.Meta(max_length=10_000)] = []
    #: it affects the rights of the people significantly (art. 34: they must be told)
    afectacion_significativa: bool = False
    acciones_inmediatas: Long | None = None
    acciones_definitivas: Long | None = None


class IncidentRecordedOut(msgspec.Struct):
    incident_id: int
    cases: int


class IncidentNoticeIn(msgspec.Struct, forbid_unknown_fields=True):
    #: titulares | autoridad_garante | secretaria
    destinatario: Short
    #: oficio | correo_electronico | entrevista_personal | comunicado_publico | otro
    medio: Short
    enviado_en: datetime
    personas_notificadas: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)] | None = None


class IncidentNoticeRecordedOut(msgspec.Struct):
    incident_id: int
    notice_id: int


class IncidentNoticeOut(msgspec.Struct):
    destinatario: str
    medio: str
    enviado_en: datetime
    personas_notificadas: int | None


class IncidentOut(msgspec.Struct):
    id: int
    tipo: str
    descripcion: str
    motivo: str | None
    ocurrio_en: datetime
    detectado_en: datetime
    datos_comprometidos: list[str]
    afectacion_significativa: bool
    acciones_inmediatas: str | None
    acciones_definitivas: str | None
    recorded_by: str | None
    recorded_at: datetime
    folios: list[str]
    avisos: list[IncidentNoticeOut]


class IncidentLogOut(msgspec.Struct):
    incidents: list[IncidentOut]
