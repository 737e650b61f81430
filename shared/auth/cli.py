"""`python -m shared.auth.cli mint --role customer --sub anna --customer-id ...` prints a local token."""

from __future__ import annotations

import argparse
import uuid

from shared.auth.keys import ensure_local_keypair
from shared.auth.principal import Role
from shared.auth.tokens import mint_token
from shared.settings import ServiceSettings, load_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.auth.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    mint = commands.add_parser("mint", help="mint a bearer token signed with the local key")
    mint.add_argument("--role", required=True, choices=[r.value for r in Role])
    mint.add_argument("--sub", required=True, help="the subject (user name or id)")
    mint.add_argument("--customer-id", type=uuid.UUID)
    mint.add_argument("--technician-id", type=uuid.UUID)
    mint.add_argument("--name")
    mint.add_argument("--ttl", type=int, default=12 * 3600, help="seconds until it expires")
    args = parser.parse_args(argv)

    settings = load_settings(ServiceSettings)
    ensure_local_keypair(settings.jwt_private_key_file, settings.jwt_public_key_file)
    role = Role(args.role)
    if role is Role.CUSTOMER and args.customer_id is None:
        parser.error("--customer-id is required for role customer")
    if role is Role.TECHNICIAN and args.technician_id is None:
        parser.error("--technician-id is required for role technician")
    print(
        mint_token(
            settings.jwt_private_key_file.read_bytes(),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            subject=args.sub,
            role=role,
            customer_id=args.customer_id,
            technician_id=args.technician_id,
            name=args.name,
            ttl_s=args.ttl,
        )
    )


if __name__ == "__main__":
    main()
