//! The access record: what one request leaves in the log. Schema version 1.
//!
//! One record per request that reached the gateway, allowed, refused or
//! failed. It says who (principal), why (purpose), what (product, route,
//! method, path), what was decided and why, what the upstream and the
//! client were answered, which fields got which treatment (JSON path,
//! class, action, count — never a value), bytes, latency, the Vault leases
//! used, and the policy version in force. Identifiers an auditor may need
//! to match (subject, client address, query values) are HMAC'd as
//! configured ([`IdentifierHasher`](crate::IdentifierHasher)).
//!
//! On disk the record's members follow the line's `seq`, `prev` and `t`
//! (`"rec"`) members (see the crate docs for the line format), e.g.:
//!
//! ```text
//! {"seq":7,"prev":"…","t":"rec","v":1,"time":"2026-11-25T09:00:00.123456Z",
//!  "request_id":"…","instance":"gw-a1b2","principal":{"subject":"alice",
//!  "auth_method":"jwt","roles":["support"]},"purpose":"support-case",
//!  "product":"customers","route":"/customers","method":"GET",
//!  "path":"/customers?limit=hmac-sha256:…","client":"127.0.0.1",
//!  "decision":"allowed","reason":null,"upstream_status":200,"status":200,
//!  "outcome":"complete","fields":[{"path":"$.email","class":"email",
//!  "action":"mask","treatment":"replaced","count":2}],"unclassified":null,
//!  "bytes_in":0,"bytes_out":1234,"latency_us":2100,"leases":[],
//!  "policy":"sha256:…"}
//! ```
//!
//! Adding a member is a compatible change (readers ignore members they do
//! not know); changing or removing one bumps [`SCHEMA_VERSION`].

use serde::{Deserialize, Serialize};

/// The record schema version, the `v` member.
pub const SCHEMA_VERSION: u32 = 1;

/// One request's record; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Record {
    /// The schema version ([`SCHEMA_VERSION`]).
    pub v: u32,
    /// When the request arrived, RFC 3339 UTC with microseconds.
    pub time: String,
    /// The request id (`X-Request-Id`).
    pub request_id: String,
    /// The gateway instance that served it.
    pub instance: String,
    /// The authenticated caller, if there was one.
    pub principal: Option<Principal>,
    /// The purpose the access rules accepted.
    pub purpose: Option<String>,
    /// The product the request was routed to.
    pub product: Option<String>,
    /// The route (path prefix) that matched.
    pub route: Option<String>,
    /// The request method.
    pub method: String,
    /// The request path; query values are HMAC'd.
    pub path: String,
    /// The client address (HMAC'd when configured so).
    pub client: Option<String>,
    /// What the gateway decided.
    pub decision: Decision,
    /// Why, for a refusal or failure: the gateway's error code (e.g.
    /// `forbidden:role_not_allowed`, `upstream_timeout`).
    pub reason: Option<String>,
    /// The upstream's status, if a response head came back.
    pub upstream_status: Option<u16>,
    /// The status the client was answered with.
    pub status: u16,
    /// How the response body ended.
    pub outcome: Outcome,
    /// What each classified field got, with counts; never a value.
    pub fields: Vec<FieldTreatment>,
    /// Unclassified strings scanned by detectors, if any were.
    pub unclassified: Option<Unclassified>,
    /// Request body bytes read from the client.
    pub bytes_in: u64,
    /// Response body bytes sent to the client.
    pub bytes_out: u64,
    /// From arrival to the end of the response body, in microseconds.
    pub latency_us: u64,
    /// Vault/OpenBao lease ids used for the upstream call (HMAC'd).
    pub leases: Vec<String>,
    /// The policy version: `sha256:<hex>` of the configuration in force.
    pub policy: String,
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Principal {
    /// The subject (HMAC'd when configured so).
    pub subject: String,
    /// `jwt`, `api_key` or `mtls`.
    pub auth_method: String,
    /// The caller's roles.
    pub roles: Vec<String>,
}

impl Principal {
    /// A principal.
    pub fn new(subject: String, auth_method: String, roles: Vec<String>) -> Self {
        Self {
            subject,
            auth_method,
            roles,
        }
    }
}

/// What the gateway decided about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Decision {
    /// Forwarded to the product (the upstream's answer may still be an
    /// error, and masking may still fail: see `reason`).
    Allowed,
    /// Refused because of the request: 401, 403, 404, 413, 429, 431, ...
    Refused,
    /// Failed because of the gateway, the upstream or the audit sink: 502,
    /// 503, 504.
    Failed,
}

impl Decision {
    /// The name as written in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

/// How the response body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Delivered in full.
    Complete,
    /// Broken off by the gateway (masking failed mid-body, the upstream
    /// failed mid-body).
    Aborted,
    /// The client went away before the end.
    ClientGone,
}

/// The [`FieldTreatment::path`] of values the detectors found in
/// unclassified strings (free text), listed by class.
pub const FOUND_IN_TEXT: &str = "(found in text)";

/// One field's treatment in a response: a JSON path, its class, the action
/// applied, what that did, and how many values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FieldTreatment {
    /// The classification's selector (a JSONPath), never a concrete value.
    pub path: String,
    /// The data class.
    pub class: String,
    /// The action the policy gave (`pass`, `mask`, `reveal`, ...).
    pub action: String,
    /// What happened: `kept`, `replaced`, `dropped`, `container_dropped`,
    /// `container_replaced`, `container_descended`.
    pub treatment: String,
    /// How many values.
    pub count: u64,
}

impl FieldTreatment {
    /// A treatment entry.
    pub fn new(path: String, class: String, action: String, treatment: String, count: u64) -> Self {
        Self {
            path,
            class,
            action,
            treatment,
            count,
        }
    }

    /// Whether these are values the detectors found in free text
    /// ([`FOUND_IN_TEXT`]) rather than a classified field's.
    pub fn is_found_in_text(&self) -> bool {
        self.path == FOUND_IN_TEXT
    }

    /// Whether this shows a protected class to the caller in the clear.
    pub fn is_reveal(&self) -> bool {
        matches!(self.action.as_str(), "pass" | "reveal") && self.treatment == "kept"
    }
}

/// Unclassified strings handed to the PII detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Unclassified {
    /// Strings scanned.
    pub scanned: u64,
    /// Of those, replaced.
    pub replaced: u64,
    /// Of those, dropped.
    pub dropped: u64,
}

impl Unclassified {
    /// Counts.
    pub fn new(scanned: u64, replaced: u64, dropped: u64) -> Self {
        Self {
            scanned,
            replaced,
            dropped,
        }
    }
}

impl Record {
    /// A record with the request's identity; the rest is filled in as the
    /// request goes (fields are public).
    pub fn new(
        time: String,
        request_id: String,
        instance: String,
        method: String,
        path: String,
    ) -> Self {
        Self {
            v: SCHEMA_VERSION,
            time,
            request_id,
            instance,
            principal: None,
            purpose: None,
            product: None,
            route: None,
            method,
            path,
            client: None,
            decision: Decision::Allowed,
            reason: None,
            upstream_status: None,
            status: 0,
            outcome: Outcome::Complete,
            fields: Vec::new(),
            unclassified: None,
            bytes_in: 0,
            bytes_out: 0,
            latency_us: 0,
            leases: Vec::new(),
            policy: String::new(),
        }
    }
}

/// RFC 3339 UTC with microseconds, as records write time.
pub fn format_time(time: std::time::SystemTime) -> String {
    humantime::format_rfc3339_micros(time).to_string()
}
