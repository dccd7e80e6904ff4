//! The streaming rewriter never panics, whatever the bytes and however
//! they are split; when it accepts a document, its output is valid JSON
//! without the redacted value. The policy answers on whole paths or step
//! by step (the first byte's low bit), and passes `pass` subtrees through
//! and drops `drop` members, so the copy-through fast paths run too.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use maskgate_masking::{
    ContainerAction, Decision, FieldId, FieldPath, FieldPolicy, LookupState, PathSegment,
    Replacement, RewriteLimits, Rewriter, Scalar, TransformError,
};

/// Redacts every member named `secret` and drops every member named
/// `drop`, anywhere but under a member named `pass` (not classified).
struct RedactSecret {
    stepping: bool,
}

const SECRET: FieldId = FieldId(0);
const DROP: FieldId = FieldId(1);

fn decide(last: Option<&PathSegment<'_>>) -> Decision {
    match last {
        Some(PathSegment::Member("secret")) => Decision::Transform(SECRET),
        Some(PathSegment::Member("drop")) => Decision::Transform(DROP),
        Some(PathSegment::Member("pass")) => Decision::Outside,
        _ => Decision::Descend,
    }
}

impl FieldPolicy for RedactSecret {
    fn lookup(&self, path: &[PathSegment<'_>]) -> Decision {
        decide(path.last())
    }

    fn lookup_root(&self) -> Option<(Decision, LookupState)> {
        self.stepping.then_some((decide(None), LookupState(0)))
    }

    fn lookup_child(&self, _: LookupState, child: PathSegment<'_>) -> (Decision, LookupState) {
        (decide(Some(&child)), LookupState(0))
    }

    fn transform(
        &self,
        id: FieldId,
        _: FieldPath<'_>,
        _: Scalar<'_>,
        out: &mut Vec<u8>,
    ) -> Result<Replacement, TransformError> {
        Ok(match id {
            DROP => Replacement::Drop,
            _ => {
                out.extend_from_slice("null".as_bytes());
                Replacement::Json
            }
        })
    }

    fn container(&self, id: FieldId) -> ContainerAction {
        match id {
            DROP => ContainerAction::Drop,
            _ => ContainerAction::Replace("null".into()),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, body)) = data.split_first() else {
        return;
    };
    let at = usize::from(split >> 1) % (body.len() + 1);
    let policy = RedactSecret {
        stepping: split & 1 == 1,
    };
    let mut rewriter = Rewriter::new(Arc::new(policy), RewriteLimits::default());
    let mut out = Vec::new();
    let fed = rewriter
        .feed(&body[..at], &mut out)
        .and_then(|()| rewriter.feed(&body[at..], &mut out));
    if fed.is_ok()
        && rewriter.finish(&mut out).is_ok()
        && let Some(value) = maskgate_fuzz::rewritten_json(&out)
    {
        assert!(
            !maskgate_fuzz::unprotected(&value, Some("pass")),
            "a secret survived"
        );
    }
});
