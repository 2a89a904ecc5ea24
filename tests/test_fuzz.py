"""Schemathesis over the app's own OpenAPI: no generated request, however odd, gets a 5xx.

It covers every route that exists, so each module is fuzzed as soon as it is mounted: one
subtest per operation, on the test's app and data dir (the schema is read when the test runs,
so nothing is built at import). A bounded number of examples per operation keeps the suite fast."""

from __future__ import annotations

import warnings

import schemathesis
from hypothesis import HealthCheck, given, settings

from app.core_gov.core_router import core_routes

warnings.filterwarnings("ignore")

EXAMPLES = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def test_no_generated_request_gets_a_server_error(app, subtests):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers={"Host": "localhost"})
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {o.label for o in operations} == {f"{method} {path}" for _, path, route in core_routes() if route.include_in_schema for method in route.methods}
    for operation in operations:
        with subtests.test(operation.label):

            @EXAMPLES
            @given(case=operation.as_strategy())
            def no_server_error(case):
                response = case.call(headers={"Host": "localhost"})  # a loopback Host, as a local client sends
                assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"

            no_server_error()
