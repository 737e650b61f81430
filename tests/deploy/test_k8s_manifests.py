"""Every Kubernetes manifest under deploy/k8s renders, validates against the schema, and every container that
imports the numba-cached planner has a writable NUMBA_CACHE_DIR (a read-only root refuses the import)."""

from __future__ import annotations

from typing import Any

import pytest

from deploy.k8s_validate import all_objects, pod_spec, validate

NUMBA_CACHE_DIR = "/var/cache/fieldline/numba"  # deploy/Dockerfile
SERVICES = ("contracts", "requests", "dispatch", "notify")


@pytest.fixture(scope="module", params=[True, False], ids=["kustomize-if-present", "built-in-renderer"])
def objects(request: pytest.FixtureRequest) -> list[tuple[str, dict[str, Any]]]:
    return all_objects(use_tool=request.param)


def by_kind(objects: list[tuple[str, dict[str, Any]]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in objects if doc["kind"] == kind}


def test_every_object_is_valid(objects: list[tuple[str, dict[str, Any]]]) -> None:
    assert validate(objects) == []


def test_a_migration_job_and_a_deployment_per_service(objects: list[tuple[str, dict[str, Any]]]) -> None:
    jobs = by_kind(objects, "Job")
    assert set(jobs) == {f"{s}-migrate" for s in SERVICES}
    for service in SERVICES:
        (container,) = pod_spec(jobs[f"{service}-migrate"])["containers"]  # type: ignore[index]
        assert container["command"] == ["python", "-m", f"services.{service}", "migrate"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert set(by_kind(objects, "Deployment")) == {*SERVICES, "web"}  # and the web apps' nginx (issue 13)
    assert all(doc["metadata"]["namespace"] == "fieldline" for _, doc in objects if doc["kind"] != "Namespace")


def _writable_numba_cache(pod: dict[str, Any], container: dict[str, Any]) -> bool:
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = [m for m in container.get("volumeMounts", []) if m["mountPath"] == NUMBA_CACHE_DIR]
    return any("emptyDir" in volumes.get(m["name"], {}) and not m.get("readOnly") for m in mounts)


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_dispatch_containers_have_a_writable_seeded_numba_cache(
    objects: list[tuple[str, dict[str, Any]]], kind: str
) -> None:
    name = "dispatch" if kind == "Deployment" else "dispatch-migrate"
    pod = pod_spec(by_kind(objects, kind)[name])
    assert pod is not None
    for container in pod["containers"]:
        assert _writable_numba_cache(pod, container), f"{kind}/{name} container {container['name']}"
    seeds = [c for c in pod.get("initContainers", []) if NUMBA_CACHE_DIR in " ".join(c.get("command", []))]
    assert seeds, f"{kind}/{name}: the image's compiled cache is copied into the emptyDir before start"
    (seed,) = seeds
    (target,) = seed["volumeMounts"]
    for container in pod["containers"]:
        cache = [m["name"] for m in container["volumeMounts"] if m["mountPath"] == NUMBA_CACHE_DIR]
        assert cache == [target["name"]], "the seed fills the very volume the container uses as its cache"
