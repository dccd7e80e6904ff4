//! The log's lines and how they are chained: the canonical form that the
//! writer produces and the verifier checks.
//!
//! A log is UTF-8 text, one JSON object per line, each line ending in
//! `\n`. Every line starts with the same three members, in this order and
//! without whitespace:
//!
//! ```text
//! {"seq":N,"prev":"<64 hex digits>","t":"<kind>",...}
//! ```
//!
//! - `seq` counts the lines of one gateway instance's chain from 0, across
//!   files;
//! - `prev` is the SHA-256 of the previous line's bytes (without its
//!   `\n`); for seq 0 it is the SHA-256 of `maskgate-audit-v1 genesis
//!   <instance>`;
//! - `t` is the kind: `open` (first line of each file: the instance, the
//!   file's name, the previous file's name), `rec` (an access record, see
//!   [`Record`](crate::Record)), `gap` (records lost while the sink was
//!   failing, and how many), `ckpt` (a checkpoint).
//!
//! A checkpoint line's last member is `"sig":"<128 hex digits>"`: an
//! Ed25519 signature over `maskgate-audit-checkpoint-v1\n` followed by the
//! line's bytes up to (not including) `,"sig":"`. Since the line includes
//! `prev`, the signature covers the whole chain up to it. The last line of
//! a complete log is a checkpoint with `"final":true`, written at shutdown.

use ring::digest::{SHA256, digest};
use serde::Deserialize;
use std::borrow::Cow;

use crate::keys::{PublicKey, SigningKey};

/// What a checkpoint signature is computed over, before the line's bytes.
pub(crate) const SIGNATURE_DOMAIN: &[u8] = b"maskgate-audit-checkpoint-v1\n";
/// Where a checkpoint's signature starts.
pub(crate) const SIG_MARKER: &[u8] = b",\"sig\":\"";

/// A SHA-256 digest: one link of the chain.
pub(crate) type Link = [u8; 32];

/// The SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> Link {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

/// The `prev` of an instance's first line.
pub(crate) fn genesis(instance: &str) -> Link {
    sha256(format!("maskgate-audit-v1 genesis {instance}").as_bytes())
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

/// Parses lowercase hex digits (the canonical form: an uppercase digit in a
/// signature is a modification); `None` if anything else is there.
pub(crate) fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    text.chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// The position of one instance's chain: the next line's seq and prev.
#[derive(Debug, Clone)]
pub(crate) struct Chain {
    pub(crate) next_seq: u64,
    pub(crate) prev: Link,
}

impl Chain {
    pub(crate) fn start(instance: &str) -> Self {
        Self {
            next_seq: 0,
            prev: genesis(instance),
        }
    }

    /// Appends the line of kind `t` with the members of the JSON object
    /// `body` (which must start with `{`) to `out`, with its `\n`.
    pub(crate) fn push(&mut self, t: &str, body: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        self.head(t, out);
        push_members(body, out);
        self.advance(start, out);
    }

    /// Appends a signed checkpoint line with the members of `body`.
    pub(crate) fn push_signed(&mut self, body: &[u8], key: &SigningKey, out: &mut Vec<u8>) {
        let start = out.len();
        self.head("ckpt", out);
        // `body` ends in `}`: sign everything before it.
        push_members(body, out);
        out.pop();
        let mut message = Vec::with_capacity(SIGNATURE_DOMAIN.len() + out.len() - start);
        message.extend_from_slice(SIGNATURE_DOMAIN);
        message.extend_from_slice(&out[start..]);
        let sig = key.sign(&message);
        out.extend_from_slice(SIG_MARKER);
        out.extend_from_slice(hex(&sig).as_bytes());
        out.extend_from_slice(b"\"}");
        self.advance(start, out);
    }

    fn head(&self, t: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"seq\":");
        out.extend_from_slice(self.next_seq.to_string().as_bytes());
        out.extend_from_slice(b",\"prev\":\"");
        out.extend_from_slice(hex(&self.prev).as_bytes());
        out.extend_from_slice(b"\",\"t\":\"");
        out.extend_from_slice(t.as_bytes());
        out.push(b'"');
    }

    fn advance(&mut self, start: usize, out: &mut Vec<u8>) {
        self.prev = sha256(&out[start..]);
        self.next_seq += 1;
        out.push(b'\n');
    }
}

/// `body`'s members after a comma (nothing for `{}`), and its closing `}`.
fn push_members(body: &[u8], out: &mut Vec<u8>) {
    debug_assert!(body.first() == Some(&b'{') && body.last() == Some(&b'}'));
    if body.len() > 2 {
        out.push(b',');
    }
    out.extend_from_slice(&body[1..]);
}

/// Checks a checkpoint line's signature; `None` when the line has no
/// well-formed signature member at its end.
pub(crate) fn checkpoint_signature_ok(line: &[u8], key: &PublicKey) -> Option<bool> {
    let body = line.strip_suffix(b"\"}")?;
    let at = body
        .windows(SIG_MARKER.len())
        .rposition(|w| w == SIG_MARKER)?;
    let sig = unhex(&body[at + SIG_MARKER.len()..])?;
    if sig.len() != 64 {
        return None;
    }
    let mut message = Vec::with_capacity(SIGNATURE_DOMAIN.len() + at);
    message.extend_from_slice(SIGNATURE_DOMAIN);
    message.extend_from_slice(&line[..at]);
    Some(key.verify(&message, &sig))
}

/// The members of a line the verifier reads (whatever its kind).
#[derive(Debug, Deserialize)]
pub(crate) struct Head<'a> {
    pub(crate) seq: u64,
    #[serde(borrow)]
    pub(crate) prev: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) t: Cow<'a, str>,
    /// `open`, `ckpt`: the gateway instance.
    #[serde(default, borrow)]
    pub(crate) instance: Option<Cow<'a, str>>,
    /// `open`: this file's name.
    #[serde(default, borrow)]
    pub(crate) file: Option<Cow<'a, str>>,
    /// `open`: the previous file's name (none for the first).
    #[serde(default, borrow)]
    pub(crate) previous_file: Option<Cow<'a, str>>,
    /// `ckpt`: written at shutdown, the end of the log.
    #[serde(default, rename = "final")]
    pub(crate) is_final: bool,
    /// `gap`: how many records were lost.
    #[serde(default)]
    pub(crate) lost: Option<u64>,
    /// `rec`: the schema version.
    #[serde(default)]
    pub(crate) v: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(unhex(b"00abff"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(unhex(b"00ABff"), None);
        assert_eq!(unhex(b"0"), None);
        assert_eq!(unhex(b"zz"), None);
    }

    #[test]
    fn lines_chain_and_checkpoints_verify() {
        let (_, key) = SigningKey::generate().unwrap();
        let mut chain = Chain::start("gw-1");
        let mut out = Vec::new();
        chain.push("rec", br#"{"a":1}"#, &mut out);
        chain.push_signed(br#"{"instance":"gw-1","final":true}"#, &key, &mut out);
        let text = std::str::from_utf8(&out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                r#"{{"seq":0,"prev":"{}","t":"rec","a":1}}"#,
                hex(&genesis("gw-1"))
            )
        );
        assert!(lines[1].contains(&hex(&sha256(lines[0].as_bytes()))));
        let public = key.public_key();
        assert_eq!(
            checkpoint_signature_ok(lines[1].as_bytes(), &public),
            Some(true)
        );
        let tampered = lines[1].replace("true", "fals");
        assert_eq!(
            checkpoint_signature_ok(tampered.as_bytes(), &public),
            Some(false)
        );
        let head: Head<'_> = serde_json::from_str(lines[1]).unwrap();
        assert!(head.is_final);
        assert_eq!(head.seq, 1);
    }
}
