#!/usr/bin/env python3
"""Writes the seed corpus of the `jwt_verify` fuzz target.

    python3 fuzz/seeds/jwt_verify.py

Makes a fresh ES256 key with the `openssl` command line, writes its public
JWK to `fuzz/seeds/jwt_verify_es256.jwk` (the fuzz target embeds it with
`include_str!`) and signs the seed tokens in `fuzz/corpus/jwt_verify/` with
it; the private key only lives in a temporary directory. HS256 seeds use the
target's fixed `HMAC_SECRET`. Standard library and `openssl` only.

The tokens are valid at the target's fixed time, NOW. Re-running the script
replaces the key and every seed (ECDSA signatures are randomized, so the
ES256 seeds change each time); commit the JWK together with the corpus.
"""

import base64
import hashlib
import hmac
import json
import pathlib
import subprocess
import tempfile

FUZZ = pathlib.Path(__file__).resolve().parent.parent
CORPUS = FUZZ / "corpus" / "jwt_verify"
JWK_FILE = FUZZ / "seeds" / "jwt_verify_es256.jwk"

# Must match fuzz_targets/jwt_verify.rs.
NOW = 1_700_000_000
ES_ISS = "https://idp.example"
ES_KID = "fuzz-es256"
HMAC_ISS = "https://hmac.example"
HMAC_SECRET = b"maskgate fuzz jwt_verify HS256 secret, not a real one"
AUD = "maskgate"
HMAC_MAX_TOKEN_BYTES = 1024
MAX_TOKEN_BYTES = 8 * 1024


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def part(value) -> str:
    """A header or payload: JSON (compact, as most issuers write it)."""
    if isinstance(value, (bytes, str)):
        raw = value.encode() if isinstance(value, str) else value
    else:
        raw = json.dumps(value, separators=(",", ":")).encode()
    return b64url(raw)


def openssl(*args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(
        ["openssl", *args], input=data, check=True, capture_output=True
    ).stdout


def der_ecdsa_to_raw(der: bytes, size: int) -> bytes:
    """ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } -> r || s."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        out += der[i + 2 : i + 2 + n].lstrip(b"\0").rjust(size, b"\0")
        i += 2 + n
    return out


class Es256:
    def __init__(self, tmp: pathlib.Path):
        self.key = tmp / "es256.pem"
        self.key.write_bytes(
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")
        )
        spki = openssl("pkey", "-in", str(self.key), "-pubout", "-outform", "DER")
        point = spki[-65:]  # the uncompressed point ends the SubjectPublicKeyInfo
        assert point[0] == 0x04
        self.jwk = {
            "kty": "EC",
            "crv": "P-256",
            "kid": ES_KID,
            "use": "sig",
            "x": b64url(point[1:33]),
            "y": b64url(point[33:]),
        }

    def der_sign(self, message: bytes) -> bytes:
        return openssl("dgst", "-sha256", "-sign", str(self.key), data=message)

    def sign(self, message: bytes) -> bytes:
        return der_ecdsa_to_raw(self.der_sign(message), 32)


def hs256(message: bytes, secret: bytes = HMAC_SECRET) -> bytes:
    return hmac.new(secret, message, hashlib.sha256).digest()


def es_claims(**extra):
    claims = {
        "iss": ES_ISS,
        "aud": [AUD, "reporting"],
        "sub": "alice@example.com",
        "iat": NOW - 60,
        "exp": NOW + 3600,
        "realm_access": {"roles": ["analyst", "support"]},
        "purpose": "fraud-investigation",
        "tenant": "acme",
    }
    claims.update(extra)
    return claims


def hmac_claims(**extra):
    claims = {
        "iss": HMAC_ISS,
        "aud": AUD,
        "sub": "batch-job",
        "exp": NOW + 600,
        "roles": "reporting support",
    }
    claims.update(extra)
    return claims


def main() -> None:
    CORPUS.mkdir(parents=True, exist_ok=True)
    for old in CORPUS.glob("*.jwt"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        es = Es256(pathlib.Path(tmp))
        seeds: dict[str, str] = {}

        def token(header, claims, sign) -> str:
            signing_input = f"{part(header)}.{part(claims)}"
            return f"{signing_input}.{b64url(sign(signing_input.encode()))}"

        es_header = {"alg": "ES256", "typ": "JWT", "kid": ES_KID}
        hs_header = {"alg": "HS256", "typ": "JWT"}

        # Accepted.
        seeds["es256_valid"] = token(es_header, es_claims(), es.sign)
        seeds["es256_valid_no_kid"] = token({"alg": "ES256"}, es_claims(aud=AUD), es.sign)
        seeds["hs256_valid"] = token(hs_header, hmac_claims(), hs256)

        # Refused by the claims.
        seeds["es256_expired"] = token(es_header, es_claims(exp=NOW - 3600), es.sign)
        seeds["es256_not_yet_valid"] = token(es_header, es_claims(nbf=NOW + 3600), es.sign)
        seeds["es256_wrong_audience"] = token(es_header, es_claims(aud=["other"]), es.sign)
        seeds["es256_no_exp"] = token(
            es_header, {k: v for k, v in es_claims().items() if k != "exp"}, es.sign
        )
        seeds["hs256_unknown_issuer"] = token(
            hs_header, hmac_claims(iss="https://evil.example"), hs256
        )

        # Refused by the signature or the algorithm.
        valid = seeds["es256_valid"]
        head, sig = valid.rsplit(".", 1)
        seeds["es256_bad_signature"] = f"{head}.{sig[:10]}{'A' if sig[10] != 'A' else 'B'}{sig[11:]}"
        seeds["es256_signature_stripped"] = f"{head}."
        seeds["es256_der_signature"] = f"{head}.{b64url(es.der_sign(head.encode()))}"
        seeds["es256_role_escalation"] = (
            f"{part(es_header)}.{part(es_claims(realm_access={'roles': ['admin']}))}.{sig}"
        )
        seeds["hs256_wrong_secret"] = token(
            hs_header, hmac_claims(), lambda m: hs256(m, b"x" * 32)
        )
        # HS256 with the ES256 public key as the secret, for the ES256 issuer.
        seeds["alg_confusion_hs256_public_key"] = token(
            {"alg": "HS256", "kid": ES_KID},
            es_claims(),
            lambda m: hs256(m, json.dumps(es.jwk).encode()),
        )
        for name, alg in [("alg_none", "none"), ("alg_none_capitalized", "NoNe")]:
            seeds[name] = f"{part({'alg': alg, 'typ': 'JWT'})}.{part(es_claims())}."
        seeds["alg_none_with_signature"] = f"{part({'alg': 'none'})}.{part(es_claims())}.{sig}"

        # Refused by the header policy.
        seeds["header_jku"] = token(
            {**es_header, "jku": "https://127.0.0.1:9/jwks"}, es_claims(), es.sign
        )
        seeds["header_embedded_jwk"] = token({**es_header, "jwk": es.jwk}, es_claims(), es.sign)
        seeds["header_x5c"] = token({**es_header, "x5c": ["MIIB"]}, es_claims(), es.sign)
        seeds["header_crit"] = token({**es_header, "crit": ["exp"]}, es_claims(), es.sign)
        seeds["header_kid_traversal"] = token(
            {**es_header, "kid": "../../../dev/null' OR '1'='1"}, es_claims(), es.sign
        )
        seeds["header_duplicate_alg"] = token(
            '{"alg":"ES256","alg":"HS256","kid":"fuzz-es256"}', es_claims(), es.sign
        )
        seeds["payload_duplicate_iss"] = token(
            es_header,
            '{"iss":"https://evil.example","iss":"https://idp.example","aud":"maskgate",'
            f'"sub":"alice","exp":{NOW + 3600}}}',
            es.sign,
        )
        seeds["payload_not_object"] = token(es_header, "[1,2,3]", es.sign)

        # Refused by the length.
        seeds["oversized_header"] = token(
            {**es_header, "kid": "k" * MAX_TOKEN_BYTES}, es_claims(), es.sign
        )
        seeds["hs256_over_issuer_limit"] = token(
            {**hs_header, "kid": "k" * HMAC_MAX_TOKEN_BYTES}, hmac_claims(), hs256
        )

        # Not a JWS at all.
        seeds["garbage_dots"] = "...."
        seeds["garbage_three_parts"] = "a.b.c"
        seeds["garbage_padded_base64"] = f"{head}.{sig}=="
        seeds["garbage_bearer_prefix"] = f"Bearer {valid}"

    assert len(seeds["oversized_header"]) > MAX_TOKEN_BYTES
    assert HMAC_MAX_TOKEN_BYTES < len(seeds["hs256_over_issuer_limit"]) < MAX_TOKEN_BYTES
    for name, text in sorted(seeds.items()):
        (CORPUS / f"{name}.jwt").write_text(text)
    JWK_FILE.write_text(json.dumps(es.jwk, indent=2) + "\n")
    print(f"{len(seeds)} seeds in {CORPUS.relative_to(FUZZ.parent)}, key in {JWK_FILE.name}")


if __name__ == "__main__":
    main()
