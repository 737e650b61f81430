"""Who may do what on NATS: one user per service with least privilege, rendered as a nats-server
`authorization` block. The one source of truth for deploy/local/bootstrap.sh and the tests' broker.

A service may publish only its own events (`fieldline.<service>.>`, which its stream captures), the RPC
commands it calls, JetStream API requests for its own stream and for consumers on the streams it reads,
and acks on those streams; it may subscribe only to its own inbox prefix (`_INBOX_<service>`, passed to
nats.connect) and the RPC commands it serves, whose replies it may send (`allow_responses`).

    python -m shared.messaging.permissions <secrets-dir>   # prints the block, making missing passwords
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.events.contracts import CHECK_ENTITLEMENT
from shared.events.envelope import stream_name
from shared.events.registry import PRODUCERS

# The streams each service's consumers read (services/<svc>/consumers.py). A missing entry fails that
# service's suites: its consumers cannot be created.
CONSUMES: Mapping[str, tuple[str, ...]] = {
    "contracts": ("requests", "dispatch"),
    "requests": ("dispatch", "contracts"),
    "dispatch": ("requests", "contracts"),
    "notify": ("contracts", "requests", "dispatch"),
}
# Request/reply: who answers which command, who asks (services/contracts/consumers.py entitlement_server,
# services/requests/adapters/entitlement.py).
SERVES: Mapping[str, tuple[str, ...]] = {"contracts": (CHECK_ENTITLEMENT,)}
CALLS: Mapping[str, tuple[str, ...]] = {"requests": (CHECK_ENTITLEMENT,)}

# A test and operator user with every right (the fault-test harness deletes streams); never given to a service.
ADMIN_USER = "fieldline-admin"


def inbox_prefix(service: str) -> str:
    """The service's own reply subjects, so that no other service may subscribe to its replies."""
    return f"_INBOX_{service}"


@dataclass(frozen=True)
class Permissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    allow_responses: bool

    def as_config(self) -> dict[str, object]:
        config: dict[str, object] = {
            "publish": {"allow": list(self.publish)},
            "subscribe": {"allow": list(self.subscribe)},
        }
        if self.allow_responses:
            config["allow_responses"] = True
        return config


def service_permissions(service: str) -> Permissions:
    own = stream_name(service)
    publish = [
        f"fieldline.{service}.>",
        *CALLS.get(service, ()),
        *(f"$JS.API.STREAM.{op}.{own}" for op in ("INFO", "CREATE", "UPDATE")),
    ]
    for producer in CONSUMES.get(service, ()):
        stream = stream_name(producer)
        publish += [
            f"$JS.API.CONSUMER.CREATE.{stream}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.>",
            f"$JS.API.CONSUMER.INFO.{stream}.>",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.>",
            f"$JS.ACK.{stream}.>",
        ]
    subscribe = [f"{inbox_prefix(service)}.>", *SERVES.get(service, ())]
    return Permissions(tuple(publish), tuple(subscribe), allow_responses=bool(SERVES.get(service)))


def ensure_password(secrets_dir: Path, user: str) -> str:
    """The user's password from `<secrets_dir>/<user>.password`, made (0600) on first use."""
    path = secrets_dir / f"{user}.password"
    if path.exists():
        return path.read_text().strip()
    secrets_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(password + "\n")
    return password


def render_authorization(passwords: Mapping[str, str]) -> str:
    """The nats.conf `authorization` block for the users in `passwords` (services and, if present, the admin).
    Values are JSON strings, which the nats-server config format reads as quoted strings."""
    users = []
    for user, password in passwords.items():
        entry = f"    {{ user: {json.dumps(user)}, password: {json.dumps(password)}"
        if user != ADMIN_USER:
            entry += f", permissions: {json.dumps(service_permissions(user).as_config())}"
        users.append(entry + " }")
    return "authorization {\n  users: [\n" + "\n".join(users) + "\n  ]\n}\n"


def local_passwords(secrets_dir: Path, *, admin: bool = True) -> dict[str, str]:
    """Every service's password (and the admin's), made where missing: the same on every bootstrap."""
    users = [*PRODUCERS, *([ADMIN_USER] if admin else [])]
    return {user: ensure_password(secrets_dir, user) for user in users}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout.write(render_authorization(local_passwords(Path(argv[0]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
