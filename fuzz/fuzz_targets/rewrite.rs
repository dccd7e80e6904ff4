//! The streaming rewriter never panics, whatever the bytes and however
//! they are split; when it accepts a document, its output is valid JSON
//! without the redacted value.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use maskgate_masking::{
    ContainerAction, Decision, FieldId, FieldPolicy, PathSegment, Replacement, RewriteLimits,
    Rewriter, Scalar, TransformError,
};

/// Redacts every member named `secret`, anywhere.
struct RedactSecret;

impl FieldPolicy for RedactSecret {
    fn lookup(&self, path: &[PathSegment<'_>]) -> Decision {
        match path.last() {
            Some(PathSegment::Member("secret")) => Decision::Transform(FieldId(0)),
            _ => Decision::Descend,
        }
    }

    fn transform(
        &self,
        _: FieldId,
        _: &[PathSegment<'_>],
        _: Scalar<'_>,
    ) -> Result<Replacement, TransformError> {
        Ok(Replacement::Json("null".into()))
    }

    fn container(&self, _: FieldId) -> ContainerAction {
        ContainerAction::Replace("null".into())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, body)) = data.split_first() else {
        return;
    };
    let at = usize::from(split) % (body.len() + 1);
    let mut rewriter = Rewriter::new(Arc::new(RedactSecret), RewriteLimits::default());
    let mut out = Vec::new();
    let fed = rewriter
        .feed(&body[..at], &mut out)
        .and_then(|()| rewriter.feed(&body[at..], &mut out));
    if fed.is_ok() && rewriter.finish(&mut out).is_ok() {
        match serde_json::from_slice::<serde_json::Value>(&out) {
            Ok(value) => assert!(!contains_secret(&value), "a secret survived"),
            // Valid JSON that serde_json cannot hold in an f64 (RFC 8259
            // sets no range); everything else must parse.
            Err(error) if error.to_string().contains("number out of range") => {}
            Err(error) => panic!("accepted documents rewrite to JSON: {error}"),
        }
    }
});

fn contains_secret(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .any(|(k, v)| (k == "secret" && !v.is_null()) || contains_secret(v)),
        serde_json::Value::Array(items) => items.iter().any(contains_secret),
        _ => false,
    }
}
