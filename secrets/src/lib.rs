//! Where credentials and keys come from: HashiCorp Vault / OpenBao.
//!
//! This crate will own the Vault client (vaultrs), the gateway's own login
//! (token, AppRole, JWT), lease renewal in the background, and the cache of
//! upstream credentials (KV, dynamic database credentials, PKI client
//! certificates) and data keys (Transit `datakey`) that the request path
//! reads without ever calling Vault; plus a local development keyring for the
//! embedded demo. It will not know about HTTP requests or products.
//!
//! Nothing is implemented yet; see the secrets issue.
