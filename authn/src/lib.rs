//! Who is calling: turns the credentials on a request into a `Principal`.
//!
//! This crate will own JWT verification against JWKS (with a key cache that
//! refreshes on a schedule and on an unknown `kid`, with a cooldown), API keys
//! stored only as hashes and compared in constant time, and identities taken
//! from mTLS client certificates. It will not decide whether a principal may
//! call a product: access decisions belong to the gateway.
//!
//! Nothing is implemented yet; see the authentication issue.
