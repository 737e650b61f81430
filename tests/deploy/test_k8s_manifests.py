"""Every Kubernetes manifest under deploy/k8s renders, validates against the schema, and every container that
imports the numba-cached planner has a writable NUMBA_CACHE_DIR (a read-only root refuses the import); the migration
Jobs are new Jobs with each image and remove themselves; the web server answers /auth/config."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.k8s_validate import K8S, all_objects, pod_spec, render, validate

NUMBA_CACHE_DIR = "/var/cache/fieldline/numba"  # deploy/Dockerfile
SERVICES = ("contracts", "requests", "dispatch", "notify")


@pytest.fixture(scope="module", params=[True, False], ids=["kustomize-if-present", "built-in-renderer"])
def objects(request: pytest.FixtureRequest) -> list[tuple[str, dict[str, Any]]]:
    return all_objects(use_tool=request.param)


def by_kind(objects: list[tuple[str, dict[str, Any]]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in objects if doc["kind"] == kind}


def test_every_object_is_valid(objects: list[tuple[str, dict[str, Any]]]) -> None:
    assert validate(objects) == []


def migration_jobs(objects: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """service -> its migration Job (whose name carries the image's tag)."""
    jobs = by_kind(objects, "Job").values()
    return {job["metadata"]["labels"]["app.kubernetes.io/name"]: job for job in jobs}


def test_a_migration_job_and_a_deployment_per_service(objects: list[tuple[str, dict[str, Any]]]) -> None:
    jobs = migration_jobs(objects)
    assert set(jobs) == set(SERVICES) and len(by_kind(objects, "Job")) == len(SERVICES)
    for service in SERVICES:
        (container,) = pod_spec(jobs[service])["containers"]  # type: ignore[index]
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
    name = "dispatch"
    pod = pod_spec(by_kind(objects, kind)[name] if kind == "Deployment" else migration_jobs(objects)[name])
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


def _labels_match(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for rule in selector.get("matchExpressions", []):
        if rule["operator"] == "In" and labels.get(rule["key"]) not in rule["values"]:
            return False
    return True


def test_each_service_runs_under_its_own_account_without_an_api_token(
    objects: list[tuple[str, dict[str, Any]]],
) -> None:
    accounts = by_kind(objects, "ServiceAccount")
    workloads = list(by_kind(objects, "Deployment").values()) + list(by_kind(objects, "Job").values())
    for doc in workloads:
        pod = pod_spec(doc)
        assert pod is not None and pod["automountServiceAccountToken"] is False, doc["metadata"]["name"]
        name = doc["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
        if name in SERVICES:
            assert pod["serviceAccountName"] == f"fieldline-{name}"
            assert accounts[f"fieldline-{name}"]["automountServiceAccountToken"] is False


def test_network_policies_deny_by_default_and_let_each_service_reach_only_its_database_and_broker(
    objects: list[tuple[str, dict[str, Any]]],
) -> None:
    policies = list(by_kind(objects, "NetworkPolicy").values())
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"]]
    assert any(set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} and "egress" not in p["spec"] for p in deny)
    for name, deployment in by_kind(objects, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        port = deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
        applying = [p for p in policies if _labels_match(p["spec"]["podSelector"], labels)]
        ingress_ports = {q["port"] for p in applying for rule in p["spec"].get("ingress", []) for q in rule["ports"]}
        egress_ports = {q["port"] for p in applying for rule in p["spec"].get("egress", []) for q in rule["ports"]}
        assert ingress_ports == {port}, name
        if name in SERVICES:
            assert {53, 5432, 4222, 443, 4318} <= egress_ports, name  # 4318: the trace collector (OTLP/HTTP)
            assert (587 in egress_ports) == (name == "notify"), name  # only notify sends mail
        else:
            assert egress_ports == {53}, name  # the web apps are static files


def test_an_autoscaler_per_service_and_no_fixed_replica_count_to_fight_it(
    objects: list[tuple[str, dict[str, Any]]],
) -> None:
    scalers = by_kind(objects, "HorizontalPodAutoscaler")
    deployments = by_kind(objects, "Deployment")
    for service in SERVICES:
        assert scalers[service]["spec"]["scaleTargetRef"]["name"] == service
        assert scalers[service]["spec"]["minReplicas"] >= 2
        assert "replicas" not in deployments[service]["spec"]


def test_the_production_overlay_runs_every_service_in_production_mode(
    objects: list[tuple[str, dict[str, Any]]],
) -> None:
    production = [doc for origin, doc in objects if origin.endswith("overlays/production")]
    maps = {d["metadata"]["name"]: d for d in production if d["kind"] == "ConfigMap"}
    assert maps["fieldline-environment"]["data"]["FIELDLINE_ENV"] == "production"
    workloads = [d for d in production if d["kind"] == "Deployment" and d["metadata"]["name"] in SERVICES]
    assert len(workloads) == len(SERVICES)
    for doc in workloads:
        sources = [
            s.get("configMapRef", {}).get("name") for s in doc["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        ]
        assert "fieldline-environment" in sources, doc["metadata"]["name"]


# a Job's name is a DNS subdomain, and the label Kubernetes gives its pods (job-name) at most 63 characters
JOB_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?")


@pytest.mark.parametrize("use_tool", [True, False], ids=["kustomize-if-present", "built-in-renderer"])
def test_a_new_image_makes_new_migration_jobs_that_remove_themselves(tmp_path: Path, use_tool: bool) -> None:
    def jobs_for(tag: str) -> dict[str, dict[str, Any]]:
        copy = tmp_path / tag / "k8s"
        shutil.copytree(K8S, copy)
        kustomization = copy / "migrations" / "kustomization.yaml"
        spec = yaml.safe_load(kustomization.read_text())
        (image,) = [i for i in spec["images"] if i["name"] == "fieldline"]
        image["newTag"] = tag  # what `kustomize edit set image` does
        kustomization.write_text(yaml.safe_dump(spec))
        rendered = render(copy / "migrations", use_tool=use_tool)
        return {d["metadata"]["labels"]["app.kubernetes.io/name"]: d for d in rendered if d["kind"] == "Job"}

    before, after = jobs_for("0.1.0"), jobs_for("0.2.0")
    for service in SERVICES:
        old, new = before[service]["metadata"]["name"], after[service]["metadata"]["name"]
        assert (old, new) == (f"{service}-migrate-0.1.0", f"{service}-migrate-0.2.0")  # apply creates, never patches
        assert JOB_NAME.fullmatch(new), new
        assert pod_spec(after[service])["containers"][0]["image"].endswith(":0.2.0")  # type: ignore[index]
        assert 0 < after[service]["spec"]["ttlSecondsAfterFinished"] <= 24 * 3600  # finished ones go by themselves


def test_the_web_server_answers_auth_config_with_the_issuer_the_services_trust(
    objects: list[tuple[str, dict[str, Any]]],
) -> None:
    base = [doc for origin, doc in objects if origin == "k8s/."]
    config = next(d for d in base if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "fieldline-config")["data"]
    nginx = next(d for d in base if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "web-nginx")["data"]
    for name, text in nginx.items():  # generated from the files compose mounts too
        assert text == (K8S / "web" / name).read_text(), name
    deployment = next(d for d in base if d["kind"] == "Deployment" and d["metadata"]["name"] == "web")
    pod = pod_spec(deployment)
    assert pod is not None
    (container,) = pod["containers"]
    env = {}
    for variable in container["env"]:
        reference = variable["valueFrom"]["configMapKeyRef"]
        assert reference["name"] == "fieldline-config"
        env[variable["name"]] = config[reference["key"]]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    assert mounts["/etc/nginx/templates"]["configMap"]["items"] == [
        {"key": "default.conf.template", "path": "default.conf.template"}
    ]
    assert mounts["/etc/nginx/fieldline"]["configMap"]["items"] == [{"key": "apps.locations", "path": "apps.locations"}]
    assert "emptyDir" in mounts["/etc/nginx/conf.d"], "the entrypoint writes the filled-in server on a read-only root"
    # what nginx's entrypoint makes of the template (envsubst of the variables the container has)
    server = re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), m.group(0)), nginx["default.conf.template"])
    assert "${" not in server
    answer = re.search(r"location = /auth/config \{[^}]*return 200 '([^']*)';", server)
    assert answer is not None
    assert json.loads(answer.group(1)) == {
        "mode": "oidc",
        "issuer": config["FIELDLINE_JWT_ISSUER"],
        "client_id": config["FIELDLINE_WEB_OIDC_CLIENT_ID"],
    }
    assert "include /etc/nginx/fieldline/apps.locations;" in server
    routed = [
        (path["path"], path["pathType"], path["backend"]["service"]["name"])
        for ingress in (d for d in base if d["kind"] == "Ingress")
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert ("/auth/config", "Exact", "web") in routed
