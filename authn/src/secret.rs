//! Secret bytes that never show up in logs and do not outlive their use.

use std::fmt;

use zeroize::Zeroize;

/// A secret: an HMAC key, a freshly generated API key.
///
/// `Debug` and `Display` print `[redacted]`; the bytes are zeroed when the
/// value is dropped. There is deliberately no `PartialEq`: comparing secrets
/// is done in constant time where it is needed, not with `==`.
#[derive(Clone)]
pub struct Secret(Box<[u8]>);

impl Secret {
    /// Wraps these bytes. The argument is consumed; a `Vec` is copied into an
    /// exactly sized buffer and its own storage zeroed.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        let mut bytes = bytes.into();
        let boxed: Box<[u8]> = bytes.as_slice().into();
        bytes.zeroize();
        Self(boxed)
    }

    /// The secret bytes. Keep what is derived from them as short-lived.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret as text, when it is UTF-8 (an API key always is).
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self::new(s.into_bytes())
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self::new(s.as_bytes())
    }
}

impl From<Vec<u8>> for Secret {
    fn from(v: Vec<u8>) -> Self {
        Self::new(v)
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::from("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(s.expose(), b"hunter2-very-secret");
        assert_eq!(s.expose_str(), Some("hunter2-very-secret"));
        assert_eq!(s.len(), 19);
        assert!(!s.is_empty());
    }
}
