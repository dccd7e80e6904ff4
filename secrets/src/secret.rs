//! A string that must never be shown: `Debug` and `Display` print
//! `[redacted]`, and the bytes are zeroed on drop.

use std::fmt;

use zeroize::Zeroizing;

/// A secret text value (a password, a token, a PEM private key, a KV field).
///
/// `Debug` prints `[redacted]`; there is no `Display`. The heap copy is
/// zeroed when the value is dropped. Read it with [`expose`](Self::expose),
/// use it, and do not keep or log what it returns.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps a value; the `String` moves in, so no other copy remains.
    pub fn new(value: String) -> Self {
        SecretString(Zeroizing::new(value))
    }

    /// The secret text. Use it, never log or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Mutable access, to build a secret in place without a second copy.
    pub(crate) fn expose_mut(&mut self) -> &mut String {
        &mut self.0
    }

    /// Its length in bytes (not secret: for limits and messages).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        SecretString::new(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        SecretString::new(value.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretString::from("hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(s.expose(), "hunter2");
    }
}
