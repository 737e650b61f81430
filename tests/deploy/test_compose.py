"""deploy/compose/compose.yaml, read as Docker Compose would (no Docker daemon runs here): no service runs as the
database's superuser; NATS is deploy/nats-cluster's three nodes (rendered and checked with the project's nats-server);
the web apps and the APIs share one origin; a token comes from a compose service; no host port collides with
`make run`'s."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from nats.errors import Error as NatsError

from deploy.local import gateway, mail_catcher
from deploy.local.dev_signin import SIGNIN_PORT
from shared.db_roles import MIGRATOR, runtime_role
from shared.messaging.connection import connect, ensure_stream
from shared.messaging.permissions import inbox_prefix
from shared.migrations import SERVICES, service_settings_class
from tests.support.infra import free_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose" / "compose.yaml"
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


# --- the broker: deploy/nats-cluster's three nodes, rendered for compose by nats-cluster.sed ---

NODES = ("nats-1", "nats-2", "nats-3")
CLUSTER = ROOT / "deploy" / "nats-cluster"
RENDER = COMPOSE.parent / "nats-cluster.sed"


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """container path -> host path (resolved from the compose file's directory) of a service's bind mounts."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            found[target] = str((COMPOSE.parent / source).resolve())
    return found


def render_nodes(into: Path) -> list[Path]:
    """What compose's nats-config writes: each node's configuration and the services' users beside it."""
    subprocess.run(
        [sys.executable, "-m", "shared.messaging.permissions", str(into / "users")],
        check=True,
        stdout=(into / "auth.conf").open("w"),
    )
    nodes = []
    for n in (1, 2, 3):
        rendered = subprocess.run(
            ["sed", "-E", "-f", str(RENDER), str(CLUSTER / f"n{n}.conf")], check=True, capture_output=True, text=True
        ).stdout
        (into / f"n{n}.conf").write_text(rendered)
        nodes.append(into / f"n{n}.conf")
    return nodes


def test_nats_is_three_nodes_rendered_from_the_projects_own_cluster() -> None:
    services = _compose()["services"]
    assert "nats" not in services
    render = services["nats-config"]
    script = " ".join(render["command"])
    assert "sed -E -f /nats-cluster.sed /cluster/n$$n.conf > /nats-users/n$$n.conf" in script
    assert "python -m shared.messaging.permissions /nats-users" in script
    assert _mounts(render) == {"/cluster": str(CLUSTER), "/nats-cluster.sed": str(RENDER)}
    for n, node in enumerate(NODES, start=1):
        service = services[node]
        assert service["command"] == ["-c", f"/nats-users/n{n}.conf"]
        assert service["depends_on"]["nats-config"]["condition"] == "service_completed_successfully"
        assert "js-enabled-only=true" in " ".join(service["healthcheck"]["test"])
        assert service["stop_grace_period"] == "45s"  # past the 30 s lame duck of deploy/nats-cluster
    stores = {next(v for v in services[node]["volumes"] if v.endswith(":/data")) for node in NODES}
    assert len(stores) == 3, "each node keeps its own store"
    for name in SERVICES:
        environment = services[name]["environment"]
        assert environment["NATS_URL"].split(",") == [f"nats://{node}:4222" for node in NODES]
        assert environment[f"FIELDLINE_{name.upper()}_NATS_STREAM_REPLICAS"] == "3"
        assert all(services[name]["depends_on"][node]["condition"] == "service_healthy" for node in NODES)


def _setting(conf: str, key: str) -> list[str]:
    return re.findall(rf"^\s*{key}:\s*(\S+)", conf, flags=re.MULTILINE)


def test_the_rendered_nodes_are_valid_durable_and_routed_to_each_other(tmp_path: Path) -> None:
    server = ROOT / ".venv" / "bin" / "nats-server"
    names = set()
    for path in render_nodes(tmp_path):
        checked = subprocess.run([str(server), "-t", "-c", str(path)], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        conf = path.read_text()
        assert _setting(conf, "sync_interval") == ["always"], "acknowledged messages survive a node's crash"
        assert _setting(conf, "store_dir") == ['"/data"']
        assert _setting(conf, "listen") == ["0.0.0.0:4222", "0.0.0.0:6222"]  # clients, then routes
        assert _setting(conf, "http") == ["0.0.0.0:8222"]  # the health check's port
        assert _setting(conf, "name") == ["fieldline"]
        assert re.findall(r"nats-route://(\S+)", conf) == [f"{node}:6222" for node in NODES]
        assert 'include "auth.conf"' in conf and "127.0.0.1" not in conf
        assert not _setting(conf, "log_file"), "logs go to the container's output"
        names.update(_setting(conf, "server_name"))
    assert names == {"fieldline-n1", "fieldline-n2", "fieldline-n3"}


# --- the one origin, the token, the ports ---


def test_the_web_apps_and_the_apis_share_one_origin_as_in_kubernetes() -> None:
    services = _compose()["services"]
    web = services["web"]
    assert web["build"]["dockerfile"] == "deploy/Dockerfile.web"
    mounts = _mounts(web)
    assert mounts["/etc/nginx/fieldline/apps.locations"] == str(ROOT / "deploy" / "k8s" / "web" / "apps.locations")
    server = Path(mounts["/etc/nginx/conf.d/default.conf"]).read_text()
    assert "include /etc/nginx/fieldline/apps.locations;" in server
    for name in SERVICES:
        port = service_settings_class(name).model_fields["port"].default
        assert f"location /api/{name}/ {{ proxy_pass http://{name}:{port}/; }}" in server  # prefix stripped
        assert services[name]["healthcheck"]["test"][-1].count(f":{port}/readyz") == 1
        assert web["depends_on"][name]["condition"] == "service_healthy"
    assert "proxy_buffering off;" in server  # event streams
    assert f"location /auth/ {{ proxy_pass http://signin:{SIGNIN_PORT}; }}" in server
    signin = services["signin"]
    assert signin["command"] == ["python", "-m", "deploy.local.dev_signin"]
    assert _mounts(signin) == {"/opt/fieldline-deploy/deploy": str(ROOT / "deploy")}
    assert signin["environment"]["PYTHONPATH"] == "/opt/fieldline-deploy"
    origin = f"http://127.0.0.1:{_host_ports(web)[0]}"
    assert services["notify"]["environment"]["FIELDLINE_NOTIFY_PUBLIC_BASE_URL"].startswith(origin)
    assert services["requests"]["environment"]["FIELDLINE_REQUESTS_SURVEY_LINK_BASE_URL"].startswith(
        f"{origin}/api/requests/"
    )


def test_a_token_comes_from_a_one_off_service_signing_with_the_services_key() -> None:
    services = _compose()["services"]
    token = services["token"]
    assert token["entrypoint"] == ["python", "-m", "shared.auth.cli", "mint"]
    assert token["profiles"] == ["tools"], "`up` does not start it"
    keys = {v for v in token["volumes"] if v.startswith("keys:")}
    assert keys == {"keys:/keys:ro"}
    assert all("keys:/keys" in services[name]["volumes"] for name in SERVICES)
    # the command the compose file and deploy/README.md give
    assert "run --rm token --role dispatcher --sub alice" in COMPOSE.read_text()
    assert "run --rm token --role" in (ROOT / "deploy" / "README.md").read_text()


def _host_ports(service: dict[str, Any]) -> list[int]:
    ports = []
    for published in service.get("ports", []):
        host, port, _ = str(published).split(":")
        assert host == "127.0.0.1", f"{published}: published on loopback only"
        ports.append(int(port))
    return ports


def make_run_ports() -> set[int]:
    """Every port `make run` (and deploy/nats-cluster/run-local.sh) takes by default, from where each is set."""
    ports = {gateway.DEFAULT_PORT, mail_catcher.DEFAULT_PORT, SIGNIN_PORT}
    ports |= {service_settings_class(name).model_fields["port"].default for name in SERVICES}
    bootstrap = (ROOT / "deploy" / "local" / "bootstrap.sh").read_text()
    defaults = re.findall(r"FIELDLINE_(?:PG_PRIVATE_PORT|NATS_PORT):-(\d+)|^PG_DEFAULT_PORT=(\d+)", bootstrap, re.M)
    defaults = [port for found in defaults for port in found if port]
    assert len(set(defaults)) == 3, defaults  # PostgreSQL (a running server's default, the private one) and NATS
    ports |= {int(p) for p in defaults}
    for n in (1, 2, 3):
        ports |= {int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", (CLUSTER / f"n{n}.conf").read_text())}
    return ports


def test_host_ports_are_loopback_only_and_leave_make_runs_alone() -> None:
    published = [p for service in _compose()["services"].values() for p in _host_ports(service)]
    assert len(published) == len(set(published))
    taken = make_run_ports()
    assert {8000, 8001, 5432, 4322} <= taken  # the reading above found them
    assert not set(published) & taken, sorted(set(published) & taken)


def test_the_rendered_nodes_form_a_jetstream_cluster_a_service_writes_to_with_three_replicas(tmp_path: Path) -> None:
    """compose's three nodes as rendered, with only their addresses moved to this host's loopback (compose's
    network names and standard ports cannot be had here): they elect a leader, load the services' users, and
    acknowledge a service's publish on a stream of three replicas."""
    server = ROOT / ".venv" / "bin" / "nats-server"
    clients, routes, monitors = ([free_port() for _ in NODES] for _ in range(3))
    processes = []
    for n, path in enumerate(render_nodes(tmp_path)):
        conf = path.read_text()
        conf = conf.replace("0.0.0.0:4222", f"127.0.0.1:{clients[n]}").replace("0.0.0.0:6222", f"127.0.0.1:{routes[n]}")
        conf = conf.replace("0.0.0.0:8222", f"127.0.0.1:{monitors[n]}").replace('"/data"', f'"{tmp_path / f"data{n}"}"')
        for m, node in enumerate(NODES):
            conf = conf.replace(f"nats-route://{node}:6222", f"nats-route://127.0.0.1:{routes[m]}")
        path.write_text(conf)
        log = (tmp_path / f"n{n}.log").open("w")
        processes.append(subprocess.Popen([str(server), "-c", str(path)], stdout=log, stderr=subprocess.STDOUT))
    try:
        _wait_healthy(monitors, processes, tmp_path)
        password = (tmp_path / "users" / "dispatch.password").read_text().strip()
        urls = ",".join(f"nats://127.0.0.1:{port}" for port in clients)
        asyncio.run(_publish_replicated(urls, password))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=40)  # lame duck is 30 s, but a terminated node with no clients leaves at once
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_healthy(monitors: list[int], processes: list[subprocess.Popen[bytes]], logs: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in processes), [(logs / f"n{n}.log").read_text() for n in range(3)]
        try:
            if all(
                httpx.get(f"http://127.0.0.1:{port}/healthz?js-enabled-only=true", timeout=2).status_code == 200
                for port in monitors
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the rendered cluster did not become healthy: " + (logs / "n0.log").read_text()[-2000:])


async def _publish_replicated(urls: str, password: str) -> None:
    client = await connect(
        urls, "compose-check", user="dispatch", password=password, inbox_prefix=inbox_prefix("dispatch")
    )
    try:
        js = client.jetstream(timeout=5)
        # a new cluster elects its meta leader, then the stream's: both take a moment after /healthz says ready
        deadline = time.monotonic() + 30
        while True:
            try:
                await ensure_stream(js, "dispatch", replicas=3)
                ack = await js.publish("fieldline.dispatch.compose_check.published.v1", b"{}")
                break
            except (NatsError, TimeoutError) as exc:
                assert time.monotonic() < deadline, f"no acknowledged publish in 30 s: {exc!r}"
                await asyncio.sleep(0.5)
        info = await js.stream_info(ack.stream)
        assert info.config.num_replicas == 3
        assert info.cluster is not None and len(info.cluster.replicas or []) == 2  # the leader and two followers
    finally:
        await client.close()
