//! Registered claim checks (RFC 7519 §4.1) and the mapping of claims to a
//! [`Principal`]. Runs only after the signature has verified.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde_json::Value;

use super::ClaimPath;
use crate::{AuthError, AuthMethod, Principal, principal::normalize_roles};

/// How one issuer's claims are checked and mapped.
#[derive(Debug)]
pub(crate) struct ClaimRules {
    pub(crate) issuer: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway: Duration,
    pub(crate) subject: ClaimPath,
    pub(crate) roles: ClaimPath,
    pub(crate) purpose: Option<ClaimPath>,
    pub(crate) attributes: Vec<ClaimPath>,
}

impl ClaimRules {
    /// Checks `iss`, `exp`, `nbf`, `iat` and `aud` at `now` and maps the
    /// claims to a principal.
    pub(crate) fn check(&self, claims: &Value, now: SystemTime) -> Result<Principal, AuthError> {
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(AuthError::UnknownIssuer);
        }

        let exp = numeric_date(claims, "exp")?.ok_or_else(|| AuthError::MissingClaim {
            claim: "exp".into(),
        })?;
        // A limit that overflows SystemTime is beyond any `now`.
        if exp
            .checked_add(self.leeway)
            .is_some_and(|limit| now >= limit)
        {
            return Err(AuthError::Expired);
        }
        let now_plus_leeway = now.checked_add(self.leeway);
        if let Some(nbf) = numeric_date(claims, "nbf")?
            && now_plus_leeway.is_some_and(|limit| limit < nbf)
        {
            return Err(AuthError::NotYetValid);
        }
        if let Some(iat) = numeric_date(claims, "iat")?
            && now_plus_leeway.is_some_and(|limit| limit < iat)
        {
            return Err(AuthError::IssuedInFuture);
        }

        let audience_ok = match claims.get("aud") {
            Some(Value::String(aud)) => self.audiences.iter().any(|a| a == aud),
            Some(Value::Array(auds)) => auds
                .iter()
                .filter_map(Value::as_str)
                .any(|aud| self.audiences.iter().any(|a| a == aud)),
            _ => false,
        };
        if !audience_ok {
            return Err(AuthError::WrongAudience);
        }

        let subject = match self.subject.resolve(claims) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(AuthError::MissingClaim {
                    claim: self.subject.to_string(),
                });
            }
        };
        let roles: Vec<String> = match self.roles.resolve(claims) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        let purpose = self
            .purpose
            .as_ref()
            .and_then(|path| path.resolve(claims))
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .map(str::to_owned);
        let attributes: BTreeMap<String, String> = self
            .attributes
            .iter()
            .filter_map(|path| {
                let value = match path.resolve(claims)? {
                    Value::Null => return None,
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                Some((path.to_string(), value))
            })
            .collect();

        Ok(Principal {
            subject,
            roles: normalize_roles(roles),
            method: AuthMethod::Jwt,
            issuer: Some(self.issuer.clone()),
            purpose,
            attributes,
            expires_at: Some(exp),
        })
    }
}

/// A NumericDate claim (seconds since the epoch, possibly fractional).
fn numeric_date(claims: &Value, name: &str) -> Result<Option<SystemTime>, AuthError> {
    const NOT_A_DATE: AuthError = AuthError::malformed("a time claim is not a valid NumericDate");
    let number = match claims.get(name) {
        None => return Ok(None),
        Some(Value::Number(n)) => n,
        Some(_) => return Err(NOT_A_DATE),
    };
    let since_epoch = match number.as_u64() {
        Some(secs) => Duration::from_secs(secs),
        None => number
            .as_f64()
            .filter(|f| *f >= 0.0)
            .and_then(|f| Duration::try_from_secs_f64(f).ok())
            .ok_or(NOT_A_DATE)?,
    };
    UNIX_EPOCH
        .checked_add(since_epoch)
        .map(Some)
        .ok_or(NOT_A_DATE)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn rules() -> ClaimRules {
        ClaimRules {
            issuer: "https://idp.example".into(),
            audiences: vec!["maskgate".into(), "other".into()],
            leeway: Duration::from_secs(60),
            subject: ClaimPath::parse("sub"),
            roles: ClaimPath::parse("realm_access.roles"),
            purpose: Some(ClaimPath::parse("purpose")),
            attributes: vec![
                ClaimPath::parse("email"),
                ClaimPath::parse("tenant.id"),
                ClaimPath::parse("absent"),
            ],
        }
    }

    fn claims() -> Value {
        json!({
            "iss": "https://idp.example",
            "aud": "maskgate",
            "sub": "alice",
            "exp": NOW + 300,
            "iat": NOW,
            "nbf": NOW,
            "realm_access": { "roles": ["fraud", "analyst", "fraud", 7] },
            "purpose": "fraud-investigation",
            "email": "alice@example.com",
            "tenant": { "id": 42 },
        })
    }

    fn with(patch: Value) -> Value {
        let mut c = claims();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    }

    #[test]
    fn maps_claims_to_a_principal() {
        let p = rules().check(&claims(), now()).unwrap();
        assert_eq!(p.subject, "alice");
        assert_eq!(p.roles, ["analyst", "fraud"]);
        assert_eq!(p.method, AuthMethod::Jwt);
        assert_eq!(p.issuer.as_deref(), Some("https://idp.example"));
        assert_eq!(p.purpose.as_deref(), Some("fraud-investigation"));
        assert_eq!(p.attributes["email"], "alice@example.com");
        assert_eq!(p.attributes["tenant.id"], "42");
        assert!(!p.attributes.contains_key("absent"));
        assert_eq!(p.expires_at, Some(now() + Duration::from_secs(300)));
    }

    #[test]
    fn roles_may_be_one_space_separated_string() {
        let mut r = rules();
        r.roles = ClaimPath::parse("scope");
        let p = r
            .check(&with(json!({"scope": "read  write read"})), now())
            .unwrap();
        assert_eq!(p.roles, ["read", "write"]);
        r.roles = ClaimPath::parse("nothing");
        assert!(r.check(&claims(), now()).unwrap().roles.is_empty());
    }

    #[test]
    fn audience_may_be_an_array() {
        let r = rules();
        assert!(
            r.check(&with(json!({"aud": ["x", "other"]})), now())
                .is_ok()
        );
        for aud in [json!(["x", "y"]), json!("x"), json!(null), json!(7)] {
            assert_eq!(
                r.check(&with(json!({ "aud": aud })), now()),
                Err(AuthError::WrongAudience),
                "{aud}"
            );
        }
    }

    #[test]
    fn times_are_checked_with_leeway() {
        let r = rules();
        // exp: within the leeway is still valid; at exp + leeway it is not.
        assert!(r.check(&with(json!({"exp": NOW - 59})), now()).is_ok());
        assert_eq!(
            r.check(&with(json!({"exp": NOW - 60})), now()),
            Err(AuthError::Expired)
        );
        assert_eq!(
            r.check(&with(json!({"exp": null})), now()),
            Err(AuthError::MissingClaim {
                claim: "exp".into()
            })
        );
        assert!(r.check(&with(json!({"nbf": NOW + 60})), now()).is_ok());
        assert_eq!(
            r.check(&with(json!({"nbf": NOW + 61})), now()),
            Err(AuthError::NotYetValid)
        );
        assert!(r.check(&with(json!({"iat": NOW + 60})), now()).is_ok());
        assert_eq!(
            r.check(&with(json!({"iat": NOW + 61})), now()),
            Err(AuthError::IssuedInFuture)
        );
        // Fractional NumericDates are allowed.
        assert!(
            r.check(&with(json!({"exp": (NOW as f64) + 10.5})), now())
                .is_ok()
        );
    }

    #[test]
    fn malformed_time_claims_are_refused() {
        let r = rules();
        for bad in [json!("soon"), json!(-1), json!(1e300), json!(true)] {
            assert!(
                matches!(
                    r.check(&with(json!({ "exp": bad })), now()),
                    Err(AuthError::Malformed { .. })
                ),
                "{bad}"
            );
        }
        // u64::MAX seconds: past what SystemTime holds on some platforms, or
        // so far ahead it never expires; either way no panic.
        let _ = r.check(&with(json!({ "exp": u64::MAX })), now());
        let _ = r.check(&with(json!({ "nbf": u64::MAX })), now());
    }

    #[test]
    fn issuer_and_subject_are_required() {
        let r = rules();
        assert_eq!(
            r.check(&with(json!({"iss": "https://evil.example"})), now()),
            Err(AuthError::UnknownIssuer)
        );
        assert_eq!(
            r.check(&with(json!({"sub": ""})), now()),
            Err(AuthError::MissingClaim {
                claim: "sub".into()
            })
        );
        assert_eq!(
            r.check(&with(json!({"sub": 12})), now()),
            Err(AuthError::MissingClaim {
                claim: "sub".into()
            })
        );
    }
}
