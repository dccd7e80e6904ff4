#!/usr/bin/env python3
"""Forges attack tokens for maskgate's JWT attack suite.

The tokens are made by third-party JOSE libraries (PyJWT and jwcrypto from
PyPI), never by maskgate's own code, so a bug in our signing or parsing
cannot hide a bug in our verification.

Input (stdin, JSON):
  issuer, audience, kid        the trusted issuer's values
  private_key_pem              the trusted issuer's RSA private key (PKCS#8 PEM)
  public_key_pem               its public key (SPKI PEM)
  claims                       extra claims for every token (e.g. roles)
  listener_url                 an https URL of a listener that must never be
                               contacted (for jku / x5u)
Output (stdout, JSON): {"valid": TOKEN, "attacks": {NAME: TOKEN, ...}}
"""

import base64
import datetime
import json
import sys
import time

import jwt  # PyJWT
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwcrypto import jwk as jw_jwk
from jwcrypto import jws as jw_jws


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main() -> None:
    spec = json.load(sys.stdin)
    now = int(time.time())
    base = {
        "iss": spec["issuer"],
        "aud": spec["audience"],
        "sub": "mallory@attacker.example",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        **spec.get("claims", {}),
    }
    real_key = spec["private_key_pem"]
    real_public = spec["public_key_pem"]
    kid = spec["kid"]
    listener = spec["listener_url"]

    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacker_pem = attacker.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    attacker_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))
    attacker_jwk["kid"] = "attacker"

    def real(claims=None, headers=None):
        return jwt.encode(claims or base, real_key, algorithm="RS256",
                          headers={"kid": kid, **(headers or {})})

    def by_attacker(headers, claims=None):
        return jwt.encode(claims or base, attacker_pem, algorithm="RS256", headers=headers)

    valid = real()
    header_b64, payload_b64, signature_b64 = valid.split(".")
    attacks = {}

    # alg "none" in every capitalization, unsigned. PyJWT knows only the
    # lowercase name; the others are registered as aliases of its own
    # NoneAlgorithm.
    jws = jwt.PyJWS()
    for variant in ["none", "None", "NONE", "nOnE"]:
        if variant != "none":
            jws.register_algorithm(variant, jwt.algorithms.NoneAlgorithm())
        attacks[f"alg_{variant}"] = jws.encode(
            json.dumps(base).encode(), None, algorithm=variant, headers={"kid": kid}
        )
    # ... and "none" with the real signature left on.
    attacks["alg_none_with_signature"] = (
        b64(json.dumps({"alg": "none", "kid": kid}).encode()) + "." + payload_b64 + "." + signature_b64
    )

    # Key confusion: HS256 with the RSA public key (PEM bytes) as the secret.
    # PyJWT refuses this on purpose; jwcrypto signs with any octet key.
    for name, secret in [("hs256_with_public_key_pem", real_public.encode()),
                         ("hs256_with_public_key_der", serialization.load_pem_public_key(
                             real_public.encode()).public_bytes(
                                 serialization.Encoding.DER,
                                 serialization.PublicFormat.SubjectPublicKeyInfo))]:
        key = jw_jwk.JWK(kty="oct", k=b64(secret))
        token = jw_jws.JWS(json.dumps(base).encode())
        token.add_signature(key, alg="HS256",
                            protected=json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}))
        attacks[name] = token.serialize(compact=True)

    # Signature stripped or cut.
    attacks["signature_stripped"] = f"{header_b64}.{payload_b64}."
    attacks["signature_missing"] = f"{header_b64}.{payload_b64}"
    attacks["signature_truncated"] = f"{header_b64}.{payload_b64}.{signature_b64[:-8]}"

    # Payload tampered (role escalation), original signature kept.
    escalated = {**base, "roles": ["admin", "fraud"], "sub": "root"}
    attacks["payload_tampered"] = (
        f"{header_b64}.{b64(json.dumps(escalated).encode())}.{signature_b64}"
    )

    # Hostile key ids, signed by the attacker.
    attacks["kid_path_traversal"] = by_attacker({"kid": "../../../../../../dev/null"})
    attacks["kid_sql_fragment"] = by_attacker({"kid": "x' UNION SELECT 'secret' --"})
    attacks["kid_real_but_attacker_signed"] = by_attacker({"kid": kid})

    # Keys the token brings along: embedded jwk, jku, x5u, x5c.
    attacks["embedded_jwk"] = by_attacker({"kid": "attacker", "jwk": attacker_jwk})
    attacks["embedded_jwk_real_kid"] = by_attacker({"kid": kid, "jwk": attacker_jwk})
    attacks["jku_loopback"] = by_attacker({"kid": "attacker", "jku": listener + "/jwks.json"})
    attacks["x5u_loopback"] = by_attacker({"kid": "attacker", "x5u": listener + "/cert.pem"})
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(attacker.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1))
        .not_valid_after(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1))
        .sign(attacker, hashes.SHA256())
    )
    x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
    attacks["x5c_self_signed"] = by_attacker({"kid": "attacker", "x5c": x5c})

    # Properly signed by the real key, but with claims that must be refused.
    attacks["expired"] = real({**base, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600})
    attacks["not_yet_valid"] = real({**base, "nbf": now + 3600, "exp": now + 7200})
    attacks["issued_in_future"] = real({**base, "iat": now + 3600, "exp": now + 7200})
    attacks["wrong_audience"] = real({**base, "aud": "someone-else"})
    attacks["wrong_issuer"] = real({**base, "iss": "https://evil.example"})
    attacks["no_exp"] = real({k: v for k, v in base.items() if k != "exp"})
    attacks["crit_header"] = real(headers={"crit": ["exp"]})

    # Oversized: a megabyte of claims, properly signed.
    attacks["oversized"] = real({**base, "padding": "A" * (1024 * 1024)})

    json.dump({"valid": valid, "attacks": attacks}, sys.stdout)


if __name__ == "__main__":
    main()
