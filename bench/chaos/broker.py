"""The chaos run's NATS: one private nats-server, or three clustered ones with R3 streams.

Each node is the test suite's `NatsServer` (the locked binary, JetStream with `sync_interval: always`, the
project's users and permissions) with a cluster block and a monitoring port added: the layout of
deploy/nats-cluster/ (three local nodes, routes to all three) on free ports, without its TLS.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.infra import NatsServer, free_port

__all__ = ["Broker", "cluster_of", "single"]


@dataclass
class Broker:
    """One or three nats-server processes; ``nodes[i].url`` is node i's admin URL."""

    nodes: list[NatsServer]
    http_ports: list[int] = field(default_factory=list)

    @property
    def clustered(self) -> bool:
        return len(self.nodes) > 1

    @property
    def url(self) -> str:
        """The admin's URL of every node, comma-separated (what `shared.messaging.connect` accepts)."""
        return ",".join(node.url for node in self.nodes)

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        if self.clustered:
            self.wait_healthy()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def kill(self, index: int) -> None:
        """``kill -9`` of node ``index`` (no lame-duck mode, no flush)."""
        self.nodes[index].stop(signal.SIGKILL)

    def revive(self, index: int) -> None:
        self.nodes[index].start()

    def restart(self, index: int = 0) -> None:
        self.nodes[index].restart()

    def _jsz(self, index: int, **params: str) -> dict[str, object] | None:
        try:
            answer = httpx.get(f"http://127.0.0.1:{self.http_ports[index]}/jsz", params=params, timeout=2)
            return dict(answer.json()) if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None

    def healthy(self, index: int) -> bool:
        try:
            url = f"http://127.0.0.1:{self.http_ports[index]}/healthz?js-enabled-only=true"
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_healthy(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(self.healthy(i) for i, node in enumerate(self.nodes) if node.process is not None):
                return
            time.sleep(0.2)
        raise RuntimeError(f"the NATS cluster is not healthy after {timeout_s:.0f} s")

    def _index_of(self, server_name: str | None) -> int | None:
        names = [f"chaos-n{i + 1}" for i in range(len(self.nodes))]
        return names.index(server_name) if server_name in names else None

    def meta_leader(self) -> int | None:
        """The node holding the JetStream meta leadership (None: no quorum, or a single server)."""
        for i, node in enumerate(self.nodes):
            if node.process is None:
                continue
            jsz = self._jsz(i)
            meta = jsz.get("meta_cluster") if jsz else None
            if isinstance(meta, dict) and meta.get("leader"):
                return self._index_of(str(meta["leader"]))
        return None

    def stream_leader(self, stream: str) -> int | None:
        """The node that leads ``stream``'s replicas (None when it has no leader now)."""
        for i, node in enumerate(self.nodes):
            if node.process is None:
                continue
            jsz = self._jsz(i, accounts="true", streams="true")
            for account in (jsz or {}).get("account_details", []) or []:  # type: ignore[attr-defined]
                for detail in account.get("stream_detail", []) or []:
                    if detail.get("name") == stream and (detail.get("cluster") or {}).get("leader"):
                        return self._index_of(str(detail["cluster"]["leader"]))
        return None


def single(store: Path) -> Broker:
    store.mkdir(parents=True, exist_ok=True)
    return Broker([NatsServer(store)])


def cluster_of(root: Path, size: int = 3) -> Broker:
    """``size`` nodes routed to each other (deploy/nats-cluster/n*.conf's cluster block), each with /jsz."""
    routes = [free_port() for _ in range(size)]
    http_ports = [free_port() for _ in range(size)]
    nodes = []
    for i in range(size):
        store = root / f"n{i + 1}"
        store.mkdir(parents=True, exist_ok=True)
        listed = ", ".join(f"nats-route://127.0.0.1:{port}" for port in routes)
        extra = (
            f"server_name: chaos-n{i + 1}\n"
            f"http: 127.0.0.1:{http_ports[i]}\n"
            f"cluster {{ name: fieldline-chaos, listen: 127.0.0.1:{routes[i]}, routes: [{listed}] }}\n"
        )
        nodes.append(NatsServer(store, extra_config=extra))
    return Broker(nodes, http_ports)
