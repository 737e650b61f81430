"""deploy/nats-cluster as an operator runs it (run-local.sh start): three nodes whose routes are mutual TLS, whose
clients must speak TLS to a server the cluster's CA signed, and whose users are the services' own.

The script and the three configurations are copied into a scratch root with the ports moved to free ones (the only
change), so the test never meets a cluster a developer is running on the documented ports.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import pytest
from nats.errors import Error as NatsError

from shared.messaging.connection import connect
from tests.support.infra import free_port

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "deploy" / "nats-cluster"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[int], list[int]]]:
    root = tmp_path_factory.mktemp("nats-cluster-root")
    (root / "deploy" / "nats-cluster").mkdir(parents=True)
    for name in (".venv", "shared"):
        os.symlink(ROOT / name, root / name)
    shutil.copy(CLUSTER / "run-local.sh", root / "deploy" / "nats-cluster" / "run-local.sh")
    clients, routes, https = ([free_port() for _ in range(3)] for _ in range(3))
    moves = {
        f":{base + n}": f":{ports[n - 1]}"
        for base, ports in ((4230, clients), (6230, routes), (8230, https))
        for n in (1, 2, 3)
    }
    for n in (1, 2, 3):
        text = (CLUSTER / f"n{n}.conf").read_text()
        text = re.sub(r":(4231|4232|4233|6231|6232|6233|8231|8232|8233)\b", lambda m: moves[m.group(0)], text)
        (root / "deploy" / "nats-cluster" / f"n{n}.conf").write_text(text)
    script = ["bash", "deploy/nats-cluster/run-local.sh"]
    said = root / "run-local.out"  # a file, not a pipe: the nodes it starts would hold a pipe open for ever
    with said.open("w") as out:
        started = subprocess.run([*script, "start"], cwd=root, stdout=out, stderr=subprocess.STDOUT, timeout=120)
    try:
        assert started.returncode == 0, said.read_text()
        yield root, clients, https
    finally:
        with said.open("a") as out:
            subprocess.run([*script, "stop"], cwd=root, stdout=out, stderr=subprocess.STDOUT, timeout=60)


def test_the_nodes_are_routed_to_each_other_over_tls(cluster: tuple[Path, list[int], list[int]]) -> None:
    _, _, https = cluster
    for port in https:
        routez = httpx.get(f"http://127.0.0.1:{port}/routez", timeout=5).json()
        assert routez["num_routes"] >= 2, routez  # both other nodes (with pooled routes, more connections)
        peers = {r["remote_name"] for r in routez["routes"]}
        assert len(peers) == 2
        varz = httpx.get(f"http://127.0.0.1:{port}/varz", timeout=5).json()
        assert varz["tls_required"] is True and varz["cluster"]["tls_required"] is True
        assert varz["cluster"]["tls_verify"] is True


async def _refused(url: str, **options: object) -> BaseException:
    try:
        client = await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=3, **options)
    except (TimeoutError, NatsError, OSError, ssl.SSLError) as exc:
        return exc
    await client.close()
    raise AssertionError(f"{url} accepted a client it should have refused ({options})")


def test_a_service_connects_with_the_clusters_ca_and_its_own_user_only(
    cluster: tuple[Path, list[int], list[int]],
) -> None:
    root, clients, _ = cluster
    ca = root / ".run" / "nats-cluster" / "tls" / "ca.crt"
    password = (root / ".run" / "nats-cluster" / "users" / "dispatch.password").read_text().strip()
    urls = ",".join(f"tls://127.0.0.1:{port}" for port in clients)

    async def check() -> None:
        # the services' own client (shared/messaging): TLS verified against the cluster's CA, its own user
        client = await connect(urls, "tls-check", user="dispatch", password=password, ca_file=ca)
        try:
            await client.publish("fieldline.dispatch.tls_check.v1", b"{}")
            await client.flush(timeout=5)
            assert client.connected_url is not None and client.connected_url.scheme == "tls"
        finally:
            await client.close()
        plain = f"nats://127.0.0.1:{clients[0]}"
        # no TLS at all; TLS to a server this client's trust store does not know; TLS without a user
        without_tls = await _refused(plain, user="dispatch", password=password)
        untrusted = await _refused(
            f"tls://127.0.0.1:{clients[0]}", tls=ssl.create_default_context(), user="dispatch", password=password
        )
        anonymous = await _refused(f"tls://127.0.0.1:{clients[0]}", tls=ssl.create_default_context(cafile=str(ca)))
        assert "certificate verify failed" in repr(untrusted) or isinstance(untrusted, ssl.SSLError), untrusted
        assert without_tls is not None and anonymous is not None

    asyncio.run(check())
