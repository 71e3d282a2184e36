"""The services' error details in the page's language: a Spanish page never shows an English
sentence or an internal code. Each known detail (app/services, app/cases) has a pattern and a
catalog key; its parts (a shelter code, a status) are passed on. An unknown detail is not shown
at all (the status's general message is), and a guarantee refused names the guarantee in words
with its legal source."""

from __future__ import annotations

import re

from app.errors import GuaranteeViolation, ServiceError
from app.web.i18n import translate

#: (pattern of the service's detail, catalog key); named groups become the key's arguments
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), k)
    for p, k in (
        (r"^the child is placed at (?P<shelter>\S+); transfer instead of admitting$",
         "msg_placed_elsewhere"),
        (r"^shelter (?P<shelter>\S+) is full \((?P<used>\d+)/(?P<cap>\d+)\)$", "msg_shelter_full"),
        (r"^placement is already (?P<status>\w+)$", "msg_placement_already"),
        (r"^task is already (?P<status>\w+)$", "msg_task_already"),
        (r"^task is claimed by someone else", "msg_task_claimed"),
        (r"^the case is closed$", "msg_case_closed"),
        (r"^the case changed while this command ran", "msg_case_changed"),
        (r"^custody record \d+ is still open", "msg_custody_open"),
        (r"^custody record \d+ already ended$", "msg_custody_ended"),
        (r"^only the Procuraduría handling the case orders a transfer$", "msg_transfer_procuraduria"),
        (r"^only the shelter or the Procuraduría handling the case may do this$",
         "msg_shelter_or_procuraduria"),
        (r"^only a supervisor or head may reassign tasks$", "msg_reassign_supervisor"),
        (r"^only the assignee or a supervisor may release this task$", "msg_release_assignee"),
        (r"^role \w+ is read-only$", "msg_read_only"),
        (r"^this task needs role (?P<rol>\w+)$", "err_role_needed"),
        (r"^the child is outside your INM authority's jurisdiction$", "msg_outside_jurisdiction"),
        (r"^oversight only$", "msg_oversight_only"),
    )
)  # fmt: skip
#: status words inside messages (``placement is already transferred``)
STATUS_WORDS = ("admitted", "transferred", "discharged", "left", "open", "completed", "cancelled")


def service_message(lang: str, exc: ServiceError) -> str | None:
    """The error's detail in the page's language, or None (show the status's message)."""
    if isinstance(exc, GuaranteeViolation):
        name = translate(lang, f"guarantee_{exc.guarantee}")
        if name == f"guarantee_{exc.guarantee}":
            name = exc.guarantee.replace("_", " ").capitalize()
        return translate(lang, "msg_guarantee", name=name, source=exc.legal_source)
    return detail_message(lang, exc.detail)


def detail_message(lang: str, detail: str | None) -> str | None:
    if not detail:
        return None
    for pattern, key in PATTERNS:
        m = pattern.search(detail)
        if m:
            args = {
                k: translate(lang, f"placement_status_{v}") if k == "status" else v
                for k, v in m.groupdict().items()
            }
            return translate(lang, key, **args)
    return detail if lang == "en" else None
