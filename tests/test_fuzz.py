"""API fuzzing with schemathesis against /api/v1/openapi.json, in process on the WSGI app.

Every operation of the document gets generated requests, valid and invalid (schemathesis' positive and negative
modes), against a registry with data in it (the demo registry: published, confidential and several regions) and
with an admin's bearer token on the staff operations. Each answer must not be a server error, must have a
status code, content type, headers and body that the document declares for it. Then the stateful phase follows
the document's OpenAPI links (settlements -> nearest?settlement=, organizations -> organizations/{id}, ...).

The number of examples is bounded for CI; RESOURCEMAP_FUZZ_EXAMPLES raises it (docs/reliability.md has the
longer run). The counts of cases run and server errors seen are printed at the end of the module."""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap.auth.accounts import create_account, issue_token
from resourcemap.registry.demo import load_demo_registry
from tests.conftest import ACCOUNT_TABLES, REGISTRY_TABLES

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("RESOURCEMAP_FUZZ_EXAMPLES", "25"))
STATEFUL_STEPS = int(os.environ.get("RESOURCEMAP_FUZZ_STATEFUL_EXAMPLES", "15"))
TALLY: Counter = Counter()  # cases run, by status class; reported in docs/reliability.md


@pytest.fixture(scope="module")
def fuzz_world(engine):
    """The demo registry (28 organizations in several regions, confidential places among them) and an admin
    with an API token; everything is removed again after the module."""
    load_demo_registry(engine, ROOT / "data" / "demo" / "registry.json")
    with Session(engine) as session:
        admin = create_account(session, "fuzz-admin@example.org", "fuzz admin password", "admin", [])
        _, token = issue_token(session, admin, "fuzz")
        session.commit()
    yield {"token": token}
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {REGISTRY_TABLES}, {ACCOUNT_TABLES} RESTART IDENTITY CASCADE"))
        conn.execute(text("TRUNCATE request_log_kind, request_log RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="module")
def api_schema(app, fuzz_world):
    """The document as the app serves it, with the admin's token for BearerAuth. Two checks are left out, for
    reasons the document cannot express: `positive_data_acceptance` (a region or kind-of-help code is a string
    in the document, but only codes in the database are accepted: 400 unknown_region/unknown_service; and
    nearest needs lat+lon or settlement) and extra query parameters (unknown ones are ignored by design). Bodies
    are asked for uncompressed (Accept-Encoding: identity), as any client may."""
    config = schemathesis.Config.from_dict({
        "auth": {"openapi": {"BearerAuth": {"bearer": fuzz_world["token"]}}},
        # The WSGI transport reads bodies as sent; compression (tests/test_static_delivery.py) is a layer apart.
        "headers": {"Accept-Encoding": "identity"},
        "generation": {"allow-extra-parameters": False},
        "checks": {"positive_data_acceptance": {"enabled": False}},
    })
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


def _tally(response) -> None:
    TALLY["cases"] += 1
    TALLY[f"{response.status_code // 100}xx"] += 1


def _operations() -> list[tuple[str, str, GenerationMode]]:
    """(method, path, mode) of every operation in the document (read from an app that needs no database for
    it): valid requests for all, invalid ones for those that take parameters or a body."""
    from resourcemap import create_app

    app = create_app({"DATABASE_URL": "postgresql+psycopg://nobody@/none?host=/nonexistent", "SECRET_KEY": "x"})
    spec = app.test_client().get("/api/v1/openapi.json").json
    cases = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method in ("get", "put", "post", "patch", "delete"):
                cases.append((method.upper(), path, GenerationMode.POSITIVE))
                if op.get("parameters") or op.get("requestBody"):
                    cases.append((method.upper(), path, GenerationMode.NEGATIVE))
    return cases


@pytest.mark.parametrize("method, path, mode", _operations())
def test_every_operation_keeps_to_its_schema(api_schema, fuzz_world, method, path, mode):
    """Valid requests (positive) and invalid ones (negative) of one operation: no server error, and every answer
    as the document says (status code, content type, headers, body); invalid input is refused with a 4xx."""
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call_and_validate()
        _tally(response)
        assert response.status_code < 500

    run()


def test_stateful_links_keep_to_the_schema(api_schema, fuzz_world):
    """Follow the document's links from list answers to the things they name, for a bounded number of steps."""
    base = api_schema.as_state_machine()

    class Workflow(base):
        def after_call(self, response, case):
            _tally(response)
            TALLY[f"stateful {case.method} {case.operation.path} {response.status_code}"] += 1
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"

    Workflow.run(settings=settings(max_examples=STATEFUL_STEPS, stateful_step_count=6, deadline=None,
                                   derandomize=True, database=None, suppress_health_check=list(HealthCheck)))


def test_report_the_tally(fuzz_world):
    """Runs last in the module: prints what the fuzzing did (for docs/reliability.md) and checks it did it."""
    print(f"\nfuzz: {dict(TALLY)}")
    assert TALLY["cases"] > 0 and TALLY["5xx"] == 0
