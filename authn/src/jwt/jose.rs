//! Compact JWS parsing (RFC 7515 §7.1) with a strict header policy.
//!
//! Everything here runs on untrusted input before any signature is checked,
//! so it allocates in proportion to the (already length-capped) token, never
//! panics, and refuses rather than guesses:
//!
//! - exactly three base64url parts, unpadded, canonical;
//! - header and payload are JSON objects without duplicate member names (a
//!   duplicate `alg` or `iss` is how parser differentials start);
//! - `alg` is required and must be one this crate implements; `none` never;
//! - `jku`, `x5u`, `x5c` and `jwk` are refused, not ignored: keys come only
//!   from configuration, and a token that tries to bring its own is either an
//!   attack or a setup that would silently not do what its author expects;
//! - `crit` is refused (no extension is implemented, so RFC 7515 §4.1.11 says
//!   such a token must be rejected), and so is `zip` (a JWE header, no place
//!   in a JWS).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::Algorithm;
use crate::{AuthError, encoding::b64url_decode};

/// Header fields whose presence refuses the token.
const REFUSED_HEADER_FIELDS: [&str; 6] = ["jku", "x5u", "x5c", "jwk", "crit", "zip"];

/// The three parts of a compact JWS, still encoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts<'a> {
    /// `BASE64URL(header) '.' BASE64URL(payload)`: what the signature covers.
    pub(crate) signing_input: &'a str,
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
}

/// Splits a compact JWS into its three parts.
pub(crate) fn split(token: &str) -> Result<Parts<'_>, AuthError> {
    let mut it = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return Err(AuthError::malformed("a token has exactly three parts"));
    };
    let signing_input = &token[..header.len() + 1 + payload.len()];
    Ok(Parts {
        signing_input,
        header,
        payload,
        signature,
    })
}

/// The header fields that matter, after the policy checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
}

/// Decodes and checks the header.
pub(crate) fn parse_header(encoded: &str) -> Result<Header, AuthError> {
    let bytes = b64url_decode(encoded.as_bytes())
        .ok_or(AuthError::malformed("the header is not base64url"))?;
    let StrictObject(header) = serde_json::from_slice(&bytes)
        .map_err(|_| AuthError::malformed("the header is not a JSON object"))?;

    for field in REFUSED_HEADER_FIELDS {
        if header.contains_key(field) {
            return Err(AuthError::UntrustedHeader { field });
        }
    }
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => {
            Algorithm::from_jose(alg).ok_or(AuthError::UnsupportedAlgorithm)?
        }
        Some(_) => return Err(AuthError::malformed("the header `alg` is not a string")),
        None => return Err(AuthError::malformed("the header has no `alg`")),
    };
    let kid = match header.get("kid") {
        Some(Value::String(kid)) => Some(kid.clone()),
        None => None,
        Some(_) => return Err(AuthError::malformed("the header `kid` is not a string")),
    };
    Ok(Header { alg, kid })
}

/// Decodes the payload into its claims (a JSON object).
pub(crate) fn parse_claims(encoded: &str) -> Result<Value, AuthError> {
    let bytes = b64url_decode(encoded.as_bytes())
        .ok_or(AuthError::malformed("the payload is not base64url"))?;
    let StrictObject(claims) = serde_json::from_slice(&bytes)
        .map_err(|_| AuthError::malformed("the payload is not a JSON object"))?;
    Ok(Value::Object(claims))
}

/// Decodes the signature.
pub(crate) fn parse_signature(encoded: &str) -> Result<Vec<u8>, AuthError> {
    if encoded.is_empty() {
        // A stripped signature (`header.payload.`) is a forgery attempt, not a
        // formatting accident.
        return Err(AuthError::BadSignature);
    }
    b64url_decode(encoded.as_bytes()).ok_or(AuthError::malformed("the signature is not base64url"))
}

/// A JSON object whose members are unique (serde_json would keep the last of
/// duplicates silently). Only the top level is checked: that is where `alg`,
/// `kid`, `iss`, `aud`, `exp` live.
struct StrictObject(Map<String, Value>);

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;

        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = StrictObject;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object with unique member names")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StrictObject, A::Error> {
                let mut map = Map::new();
                while let Some(key) = access.next_key::<String>()? {
                    let value: Value = access.next_value()?;
                    if map.insert(key, value).is_some() {
                        return Err(de::Error::custom("duplicate member"));
                    }
                }
                Ok(StrictObject(map))
            }
        }

        deserializer.deserialize_map(ObjectVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::b64url_encode;

    fn header(json: &str) -> Result<Header, AuthError> {
        parse_header(&b64url_encode(json.as_bytes()))
    }

    #[test]
    fn splits_three_parts_only() {
        let p = split("aa.bb.cc").unwrap();
        assert_eq!(
            (p.header, p.payload, p.signature, p.signing_input),
            ("aa", "bb", "cc", "aa.bb")
        );
        for bad in ["", "a", "a.b", "a.b.c.d", "a.b.c.d.e"] {
            assert!(
                matches!(split(bad), Err(AuthError::Malformed { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn header_requires_a_known_alg() {
        assert_eq!(
            header(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#),
            Ok(Header {
                alg: Algorithm::Rs256,
                kid: Some("k1".into())
            })
        );
        for none in ["none", "None", "NONE", "nOnE"] {
            assert_eq!(
                header(&format!(r#"{{"alg":"{none}"}}"#)),
                Err(AuthError::UnsupportedAlgorithm)
            );
        }
        assert_eq!(
            header(r#"{"alg":"rs256"}"#),
            Err(AuthError::UnsupportedAlgorithm)
        );
        assert_eq!(
            header(r#"{"alg":"HS512"}"#),
            Err(AuthError::UnsupportedAlgorithm)
        );
        assert!(matches!(
            header(r#"{"kid":"a"}"#),
            Err(AuthError::Malformed { .. })
        ));
        assert!(matches!(
            header(r#"{"alg":1}"#),
            Err(AuthError::Malformed { .. })
        ));
        assert!(matches!(
            header(r#"{"alg":"RS256","kid":7}"#),
            Err(AuthError::Malformed { .. })
        ));
    }

    #[test]
    fn header_refuses_embedded_or_remote_keys_and_crit() {
        for field in REFUSED_HEADER_FIELDS {
            assert_eq!(
                header(&format!(r#"{{"alg":"RS256","{field}":"x"}}"#)),
                Err(AuthError::UntrustedHeader { field })
            );
        }
    }

    #[test]
    fn duplicate_members_are_refused() {
        assert!(matches!(
            header(r#"{"alg":"RS256","alg":"HS256"}"#),
            Err(AuthError::Malformed { .. })
        ));
        let payload = b64url_encode(br#"{"iss":"a","iss":"b"}"#);
        assert!(matches!(
            parse_claims(&payload),
            Err(AuthError::Malformed { .. })
        ));
    }

    #[test]
    fn non_objects_and_bad_encodings_are_malformed() {
        for json in ["[]", "\"alg\"", "null", "{", ""] {
            assert!(
                matches!(header(json), Err(AuthError::Malformed { .. })),
                "{json}"
            );
        }
        assert!(matches!(
            parse_header("e30="),
            Err(AuthError::Malformed { .. })
        ));
        assert!(matches!(
            parse_claims("!!"),
            Err(AuthError::Malformed { .. })
        ));
        assert_eq!(parse_signature(""), Err(AuthError::BadSignature));
        assert!(matches!(
            parse_signature("a+b/"),
            Err(AuthError::Malformed { .. })
        ));
    }
}
