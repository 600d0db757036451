"""The OpenAPI document is true: schemathesis, with every check, finds nothing.

The real service runs in a child process on the test's database (SQLite or PostgreSQL)
and is spoken to over HTTP. Two schools are seeded: partners, one of them sharing a
file, so that most operations can succeed; schemathesis signs in as the first school's
admin (see `tests/contract/schemathesis_hooks.py`), reads `/schema/openapi.json`, and
runs its phases: coverage of each constraint's edges in one test, and the schema's
examples, fuzzing and stateful sequences that follow the links between operations in
another, so that two of the suite's processes run them side by side. Any failure it
reports fails the test, with schemathesis' own report to reproduce it.

The seed is fixed so that a run is repeatable; `EXCHANGE_CONTRACT_MAX_EXAMPLES` raises
the number of cases per operation for a deeper look (the default keeps each of the two
tests to a few minutes on a two-core machine).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from exchange.config import Settings
from tests.actors import PASSWORD
from tests.live_server import child_env, create_school, live_server
from tests.sample_files import pdf

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HOOKS = "tests.contract.schemathesis_hooks"
MAX_EXAMPLES = os.environ.get("EXCHANGE_CONTRACT_MAX_EXAMPLES", "10")
SEED = "20261207"


def _sign_in(base_url: str, email: str) -> dict[str, str]:
    response = httpx.post(
        f"{base_url}/api/auth/token", json={"email": email, "password": PASSWORD}, timeout=30
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _seed_partners_and_a_resource(base_url: str, first: str, second: str) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        first_admin, second_admin = _sign_in(base_url, first), _sign_in(base_url, second)
        second_school = http.get("/api/schools/me", headers=second_admin).json()["id"]
        invited = http.post(
            "/api/partnerships",
            headers=first_admin,
            json={
                "partner_school_id": second_school,
                "characteristics": ["local", "virtual"],
                "goals": ["Exchange lesson plans for grade 7 mathematics"],
                "language": "en",
            },
        )
        assert invited.status_code == 201, invited.text
        accepted = http.post(
            f"/api/partnerships/{invited.json()['id']}/accept", headers=second_admin
        )
        assert accepted.status_code == 200, accepted.text
        shared = http.post(
            "/api/resources",
            headers=second_admin,
            data={"title": "Fractions, grade 5", "kind": "lesson_plan", "grades": "5"},
            files={"file": ("fractions.pdf", pdf(), "application/pdf")},
        )
        assert shared.status_code == 201, shared.text
        own = http.post(
            "/api/resources",
            headers=first_admin,
            data={"title": "Assessment policy", "kind": "policy"},
            files={"file": ("policy.pdf", pdf(), "application/pdf")},
        )
        assert own.status_code == 201, own.text


# The phases in two groups, each its own test: two of the suite's processes run them side by
# side, each against a server and database of its own.
PHASES = {
    "edges": "coverage",
    "examples-fuzzing-sequences": "examples,fuzzing,stateful",
}


@pytest.mark.parametrize("phases", list(PHASES.values()), ids=list(PHASES))
async def test_schemathesis_finds_no_failure_in_any_operation(
    settings: Settings, tmp_path: Path, phases: str
) -> None:
    first, second = "admin@contract-one.kg", "admin@contract-two.kg"
    await create_school(settings, "Contract School One", first)
    await create_school(settings, "Contract School Two", second)
    env = {
        "EXCHANGE_DATABASE_URL": settings.database_url,
        "EXCHANGE_STORAGE_URL": (tmp_path / "files").as_uri(),
        "EXCHANGE_RUN_JOBS": "false",
        "EXCHANGE_LOG_LEVEL": "WARNING",
        # Schemathesis signs in with made-up passwords thousands of times; the
        # throttle would otherwise lock out the address it signs in from.
        "EXCHANGE_SIGN_IN_MAX_FAILURES_PER_ACCOUNT": "1000000",
        "EXCHANGE_SIGN_IN_MAX_FAILURES_PER_ADDRESS": "1000000",
    }
    with live_server(tmp_path, env, timeout=120) as server:  # a loaded CI machine starts slowly
        _seed_partners_and_a_resource(server.base_url, first, second)
        report = tmp_path / "schemathesis.xml"
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(ROOT / "tests" / "contract" / "schemathesis.toml"),
                "run",
                f"{server.base_url}/schema/openapi.json",
                "--checks",
                "all",
                "--phases",
                phases,
                "--max-examples",
                MAX_EXAMPLES,
                "--seed",
                SEED,
                "--workers",
                "1",
                "--generation-database",
                "none",
                # Hypothesis' health checks judge how fast data is generated, which on a
                # loaded machine says nothing about the API; findings still fail the test.
                "--suppress-health-check",
                "all",
                "--no-color",
                "--report",
                "junit",
                "--report-junit-path",
                str(report),
            ],
            cwd=tmp_path,  # where schemathesis keeps its cache
            env=child_env(
                {
                    "SCHEMATHESIS_HOOKS": HOOKS,
                    "EXCHANGE_CONTRACT_BASE_URL": server.base_url,
                    "EXCHANGE_CONTRACT_EMAIL": first,
                    "EXCHANGE_CONTRACT_PASSWORD": PASSWORD,
                    "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
                }
            ),
            capture_output=True,
            text=True,
            timeout=900,
        )
        server_log = server.log()
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n--- server log ---\n{server_log}"
    assert "No issues found" in run.stdout or " passed" in run.stdout, run.stdout
    assert "Traceback" not in server_log, server_log
