"""The credentials a real deployment would hold (an APNs key, a Google service account, the
HMS app id and secret), written to a folder by `FakeCredentials.generate` and read back."""

from __future__ import annotations

import os
import secrets
import string
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

APNS_TOPIC = "com.example.workbench"

PLACEHOLDER_TOKEN_URI = "http://127.0.0.1:0/token"  # noqa: S105 - an address, not a secret

MANIFEST_NAME = "fake-credentials.json"

SERVICE_ACCOUNT_NAME = "service-account.json"

_ID_ALPHABET = string.ascii_uppercase + string.digits


def _random_id(length: int = 10) -> str:
    """Return `length` random upper-case letters and digits, like Apple's key and team ids."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only."""
    path.write_bytes(data)
    path.chmod(0o600)


def _write_json_atomically(path: Path, document: Any) -> None:
    """Replace `path` with `document` as indented JSON, never leaving a half-written file."""
    scratch = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    _write_private(scratch, msgspec.json.format(msgspec.json.encode(document), indent=2))
    os.replace(scratch, path)


def _pkcs8_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    """Serialise a private key as an unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def ec_public_key(pem: bytes) -> ec.EllipticCurvePublicKey:
    """Return the public half of an EC private key PEM (the APNs .p8 file)."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the APNs key file does not hold an EC private key")
    return key.public_key()


def rsa_public_key(pem: bytes) -> rsa.RSAPublicKey:
    """Return the public half of an RSA private key PEM (the service account's key)."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the service account does not hold an RSA private key")
    return key.public_key()


def _service_account(project_id: str, key_id: str, pem: bytes, token_uri: str) -> dict[str, str]:
    """Build a Google service-account document with the fields Google puts in one."""
    client_id = str(secrets.randbelow(10**20) + 10**20)
    email = f"push@{project_id}.iam.gserviceaccount.com"
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": key_id,
        "private_key": pem.decode("ascii"),
        "client_email": email,
        "client_id": client_id,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
        + urllib.parse.quote(email),
        "universe_domain": "googleapis.com",
    }


@dataclass(frozen=True, slots=True)
class FakeCredentials:
    """Everything the fake and the provider clients share: key files, ids and secrets."""

    folder: Path
    apns_key_file: Path
    apns_key_id: str
    apns_team_id: str
    apns_topic: str
    fcm_service_account_file: Path
    fcm_project_id: str
    fcm_client_email: str
    fcm_private_key_id: str
    hms_app_id: str
    hms_client_secret: str

    @classmethod
    def generate(cls, folder: Path, *, token_uri: str = PLACEHOLDER_TOKEN_URI) -> FakeCredentials:
        """Mint fresh keys and ids and write the key files and a manifest into `folder`.

        The service account's `token_uri` is `token_uri` until a `FakePushServer` using these
        credentials starts, which rewrites it to `<base_url>/token`.
        """
        folder.mkdir(parents=True, exist_ok=True)
        key_id = _random_id()
        apns_key_file = folder / f"AuthKey_{key_id}.p8"
        _write_private(apns_key_file, _pkcs8_pem(ec.generate_private_key(ec.SECP256R1())))
        project_id = f"rm-workbench-{secrets.token_hex(3)}"
        private_key_id = secrets.token_hex(20)
        rsa_pem = _pkcs8_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        account = _service_account(project_id, private_key_id, rsa_pem, token_uri)
        account_file = folder / SERVICE_ACCOUNT_NAME
        _write_json_atomically(account_file, account)
        credentials = cls(
            folder=folder,
            apns_key_file=apns_key_file,
            apns_key_id=key_id,
            apns_team_id=_random_id(),
            apns_topic=APNS_TOPIC,
            fcm_service_account_file=account_file,
            fcm_project_id=project_id,
            fcm_client_email=account["client_email"],
            fcm_private_key_id=private_key_id,
            hms_app_id=str(100000000 + secrets.randbelow(900000000)),
            hms_client_secret=secrets.token_hex(32),
        )
        _write_json_atomically(folder / MANIFEST_NAME, credentials.manifest())
        return credentials

    @classmethod
    def load(cls, folder: Path) -> FakeCredentials:
        """Read back credentials that `generate` wrote into `folder`."""
        manifest = msgspec.json.decode((folder / MANIFEST_NAME).read_bytes())
        return cls(
            folder=folder,
            apns_key_file=folder / manifest["apns_key_file"],
            apns_key_id=manifest["apns_key_id"],
            apns_team_id=manifest["apns_team_id"],
            apns_topic=manifest["apns_topic"],
            fcm_service_account_file=folder / manifest["fcm_service_account_file"],
            fcm_project_id=manifest["fcm_project_id"],
            fcm_client_email=manifest["fcm_client_email"],
            fcm_private_key_id=manifest["fcm_private_key_id"],
            hms_app_id=manifest["hms_app_id"],
            hms_client_secret=manifest["hms_client_secret"],
        )

    @classmethod
    def load_or_generate(cls, folder: Path) -> FakeCredentials:
        """Load the credentials in `folder`, generating them first if there are none."""
        if (folder / MANIFEST_NAME).exists():
            return cls.load(folder)
        return cls.generate(folder)

    def manifest(self) -> dict[str, str]:
        """Return the ids and secrets, with file names relative to `folder`."""
        return {
            "apns_key_file": self.apns_key_file.name,
            "apns_key_id": self.apns_key_id,
            "apns_team_id": self.apns_team_id,
            "apns_topic": self.apns_topic,
            "fcm_service_account_file": self.fcm_service_account_file.name,
            "fcm_project_id": self.fcm_project_id,
            "fcm_client_email": self.fcm_client_email,
            "fcm_private_key_id": self.fcm_private_key_id,
            "hms_app_id": self.hms_app_id,
            "hms_client_secret": self.hms_client_secret,
        }

    def describe(self) -> dict[str, str]:
        """Return the ids and secrets with absolute file paths, for printing."""
        described = self.manifest()
        described["apns_key_file"] = str(self.apns_key_file.resolve())
        described["fcm_service_account_file"] = str(self.fcm_service_account_file.resolve())
        return described

    def apns_private_key_pem(self) -> bytes:
        """Return the APNs signing key (the .p8 file's contents)."""
        return self.apns_key_file.read_bytes()

    def service_account(self) -> dict[str, Any]:
        """Return the parsed service-account file."""
        document: dict[str, Any] = msgspec.json.decode(self.fcm_service_account_file.read_bytes())
        return document

    def set_token_uri(self, token_uri: str) -> None:
        """Rewrite the service-account file so that its `token_uri` is `token_uri`."""
        document = self.service_account()
        document["token_uri"] = token_uri
        _write_json_atomically(self.fcm_service_account_file, document)
