"""The compose stack's database users (deploy/compose/compose.yaml): no service runs as the superuser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from shared.db_roles import MIGRATOR, runtime_role
from shared.migrations import SERVICES

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "compose" / "compose.yaml"
URL_USER = re.compile(r"postgresql://([^:@/]+)")


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _text(value: Any) -> str:
    return yaml.safe_dump(value)


def test_each_service_runs_as_its_own_role_and_migrates_as_the_migrator() -> None:
    services = _compose()["services"]
    for name in SERVICES:
        service = services[name]
        command = " ".join(service["command"])
        users = URL_USER.findall(_text(service))
        assert f"DATABASE_URL=postgresql://{runtime_role(name)}:$$(cat /db-users/{runtime_role(name)}.password)@" in (
            command
        )
        assert f"MIGRATION_DATABASE_URL=postgresql://{MIGRATOR}:$$(cat /db-users/{MIGRATOR}.password)@" in command
        assert set(users) == {runtime_role(name), MIGRATOR}, f"{name} connects as {users}"
        assert service["depends_on"]["db-users"]["condition"] == "service_completed_successfully"


def test_only_the_roles_job_knows_the_superuser() -> None:
    services = _compose()["services"]
    superuser = services["postgis"]["environment"]["POSTGRES_USER"]
    knows = {name for name, service in services.items() if f"//{superuser}:" in _text(service)}
    assert knows == {"db-users"}
    assert "python -m shared.db_roles" in " ".join(services["db-users"]["command"])
    assert "--passwords /db-users" in " ".join(services["db-users"]["command"])
