"""TLS for the service: a throwaway certificate authority and a server context.

Serving HTTPS needs a certificate for the server's name signed by an authority
the client trusts. For local use and tests :func:`make_self_signed` creates both:
a CA certificate (give it to clients to trust) and a server certificate for
``localhost`` and ``127.0.0.1`` signed by it, with the server's private key
written readable by its owner only. :func:`~labcode.web.tls.server_context` builds the
``ssl.SSLContext`` the server uses: TLS 1.2 or newer, nothing older.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from pathlib import Path
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertificateFiles", "make_self_signed", "server_context"]


class CertificateFiles(NamedTuple):
    """Paths written by :func:`make_self_signed`.

    Attributes
    ----------
    ca_cert : pathlib.Path
        The authority's certificate: what clients should trust.
    cert : pathlib.Path
        The server's certificate.
    key : pathlib.Path
        The server's private key (mode 0600).
    """

    ca_cert: Path
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "labcode local CA"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_self_signed(
    directory: str | os.PathLike[str], *, days: int = 7
) -> CertificateFiles:
    """Create a CA and a server certificate for localhost in `directory`.

    Parameters
    ----------
    directory : str or path
        Created if missing. Receives ``ca.pem``, ``server.pem`` and
        ``server-key.pem``.
    days : int, optional
        Validity of both certificates, >= 1.

    Returns
    -------
    CertificateFiles

    Raises
    ------
    ValueError
        If `days` is not positive.

    Examples
    --------
    >>> import tempfile, stat
    >>> from labcode.web.tls import make_self_signed
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     files = make_self_signed(tmp)
    ...     oct(stat.S_IMODE(files.key.stat().st_mode))
    '0o600'
    """
    given: object = days  # checked at run time: callers may pass anything
    if isinstance(given, bool) or not isinstance(given, int) or given < 1:
        msg = f"days must be a positive int; got {given!r}"
        raise ValueError(msg)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    not_before, not_after = now - dt.timedelta(minutes=5), now + dt.timedelta(days=days)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("labcode test CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    files = CertificateFiles(
        folder / "ca.pem", folder / "server.pem", folder / "server-key.pem"
    )
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Create the key file with owner-only permissions from the start (no window
    # in which it is readable by others), then write it.
    if files.key.exists():
        files.key.unlink()
    fd = os.open(files.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_bytes)
    return files


def server_context(
    certfile: str | os.PathLike[str], keyfile: str | os.PathLike[str]
) -> ssl.SSLContext:
    """Build the server's ``ssl.SSLContext``: TLS 1.2 or newer, the given key pair.

    Parameters
    ----------
    certfile, keyfile : str or path
        PEM files of the server certificate (optionally followed by its chain)
        and its private key.

    Returns
    -------
    ssl.SSLContext

    Raises
    ------
    FileNotFoundError
        If a file is missing.
    ssl.SSLError
        If the files do not hold a matching certificate and key.
    """
    for path, name in ((certfile, "certfile"), (keyfile, "keyfile")):
        if not Path(path).is_file():
            msg = f"{name} {os.fspath(path)!r} does not exist"
            raise FileNotFoundError(msg)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(os.fspath(certfile), os.fspath(keyfile))
    return context
