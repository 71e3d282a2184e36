"""The pages' router: every page handler, the static assets, the security headers and the
error pages (a service error becomes a translated page, a missing login a redirect)."""

from __future__ import annotations

from litestar import Router
from litestar.exceptions import HTTPException
from litestar.static_files import create_static_files_router

from app.errors import ServiceError
from app.web.case_files_pages import attachment_download, attachment_submit, note_submit
from app.web.case_pages import (
    custody_end_submit,
    custody_start_submit,
    fear_of_return_submit,
    identity_page,
    identity_submit,
    imminent_risk_submit,
    new_case_page,
    new_case_submit,
    relocate_submit,
    reopen_submit,
)
from app.web.data_protection_pages import (
    consent_submit,
    data_protection_page,
    incident_notice_submit,
    incident_submit,
    incidents_page,
    notice_submit,
    withdraw_submit,
)
from app.web.dpo_pages import ROUTES as DPO_ROUTES
from app.web.notification_pages import notification_read, notifications_page
from app.web.oversight_pages import compliance_cases, compliance_export, compliance_rows
from app.web.pages import (
    HERE,
    _csrf_failed,
    _http_error,
    _login_required,
    _service_error,
    audit_export,
    audit_page,
    audit_verify,
    case_page,
    compliance_page,
    home,
    inbox_page,
    login_page,
    login_submit,
    logout,
    placement_command,
    set_language,
    shelter_admit,
    shelter_page,
    shelters_page,
    task_claim,
    task_page,
    task_reassign,
    task_submit,
    task_unclaim,
)
from app.web.record_pages import cases_page, form_page, record_page
from app.web.session import CsrfFailed, LoginRequired, security_headers


def web_router() -> Router:
    static = create_static_files_router(
        path="/static", directories=[HERE / "static"], include_in_schema=False
    )
    return Router(
        path="/",
        route_handlers=[
            home, login_page, login_submit, logout, set_language, inbox_page, task_page,
            task_submit, task_claim, task_unclaim, case_page, shelters_page, shelter_page,
            shelter_admit, placement_command, audit_page, audit_export, audit_verify,
            compliance_page, new_case_page, new_case_submit, identity_page, notifications_page,
            notification_read, task_reassign, identity_submit, relocate_submit,
            custody_start_submit, custody_end_submit, fear_of_return_submit,
            imminent_risk_submit, reopen_submit, cases_page, form_page, record_page, note_submit,
            attachment_submit, attachment_download, compliance_rows, compliance_cases,
            compliance_export, data_protection_page, notice_submit, consent_submit,
            withdraw_submit, incidents_page, incident_submit, incident_notice_submit, static,
            *DPO_ROUTES,
        ],
        middleware=[security_headers],
        exception_handlers={
            LoginRequired: _login_required,
            CsrfFailed: _csrf_failed,
            ServiceError: _service_error,
            HTTPException: _http_error,
        },
        include_in_schema=False,
        opt={"exclude_from_auth": True},  # the API's token middleware; pages check it here
    )  # fmt: skip
