"""Schemathesis against the app's own OpenAPI document, served by a real ``careroute serve``.

Every operation, positive and negative (schema-violating) cases, each case sent once per role
(bearer token); login is sent without credentials and logout with a throwaway token so the role
tokens stay valid. Checks: no 5xx, every status is one the operation documents, and responses
conform to the documented schema (success and error bodies) and content type.
The server is this test's own process, so the login throttle it trips does not affect the others.
"""

from __future__ import annotations

import os

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.app.helpers import PASSWORD
from tests.reliability.procs import Server, login
from tests.reliability.stats import STATS

pytestmark = pytest.mark.reliability

ROLE_USERS = {
    "officer": "procuraduria-07.officer",
    "supervisor": "procuraduria-07.supervisor",
    "head": "procuraduria-07.head",
    "shelter_staff": "cas-07-tapachula.shelter-staff",
    "oversight": "cndh.oversight",
    "admin": "sistema.admin",
}
#: Examples per operation and generation mode (keeps the run near a minute per database).
EXAMPLES = int(os.environ.get("CAREROUTE_ST_EXAMPLES", "8"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]


def _codes(failure: str) -> str:
    return ",".join(sorted({w for w in failure.split() if w.startswith("ST") and w[2:].isdigit()}))


@pytest.fixture
def st_server(db_env, tmp_path):
    server = Server(db_env, tmp_path).start()
    yield server
    server.stop()


def test_schemathesis_every_operation_as_every_role(st_server):
    with st_server.client() as c:
        tokens = {role: login(c, user) for role, user in ROLE_USERS.items()}
    schema = schemathesis.openapi.from_url(st_server.base + "/schema/openapi.json")
    operations = 0
    cases = 0
    failures: list[str] = []

    def throwaway() -> dict[str, str]:
        r = httpx.post(
            st_server.base + "/api/v1/auth/login",
            json={"username": "inm-07.head", "password": PASSWORD, "mode": "api"},
        )
        STATS.response(r.status_code)
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def fuzz(operation, mode, label, auths):
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            nonlocal cases
            cases += 1
            for headers in [throwaway()] if auths == "throwaway" else auths:
                response = case.call(base_url=st_server.base, headers=headers, timeout=30)
                STATS.response(response.status_code)
                try:
                    case.validate_response(response, checks=CHECKS)
                except (
                    Exception,
                    BaseExceptionGroup,
                ) as exc:  # collect every failure, report them together
                    failures.append(f"{label} [{mode.value}] {response.status_code}: {exc}")

        return run

    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        label = f"{operation.method.upper()} {operation.path}"
        if operation.path.endswith("/auth/login"):
            auths = [{}]
        elif operation.path.endswith("/auth/logout"):
            auths = "throwaway"
        else:
            auths = list(tokens.values())
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode, label, auths)()
    STATS.add("st_operations", operations)
    STATS.add("st_cases", cases)
    print(f"schemathesis: {operations} operations, {cases} cases, {len(failures)} failures")
    assert operations >= 25
    distinct = sorted({f.split(": Schemathesis")[0] + " " + _codes(f) for f in failures})
    assert not failures, "\n".join(distinct) + "\n\nfirst:\n" + failures[0]
