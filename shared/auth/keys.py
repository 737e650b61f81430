"""The local signing key pair, generated on first use; production verifies against an OIDC JWKS instead."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def ensure_local_keypair(private_key_file: Path, public_key_file: Path) -> None:
    """Create the RSA key pair once; safe when several processes start together."""
    if public_key_file.exists():
        return  # a pair made before, or an operator's public key (its private key lives elsewhere): never replaced
    private_key_file.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # Write both under temporary names, then link the private key into place exclusively: the first
    # process wins and the others keep its pair.
    tmp_private = private_key_file.with_suffix(f".{os.getpid()}.tmp")
    tmp_public = public_key_file.with_suffix(f".{os.getpid()}.tmp")
    tmp_private.write_bytes(private_pem)
    tmp_private.chmod(0o600)
    tmp_public.write_bytes(public_pem)
    try:
        os.link(tmp_private, private_key_file)
    except FileExistsError:
        pass
    else:
        os.replace(tmp_public, public_key_file)
    finally:
        tmp_private.unlink(missing_ok=True)
        tmp_public.unlink(missing_ok=True)
