//! What the fuzz targets share: reading the rewriter's output back.

use serde_json::Value;

/// The rewriter's output for a document it accepted, parsed. Panics if it
/// is not JSON; `None` for valid JSON that serde_json cannot hold (a number
/// beyond `f64`: RFC 8259 sets no range).
pub fn rewritten_json(out: &[u8]) -> Option<Value> {
    match serde_json::from_slice::<Value>(out) {
        Ok(value) => Some(value),
        Err(error) if error.to_string().contains("number out of range") => None,
        Err(error) => panic!("accepted documents rewrite to JSON: {error}"),
    }
}

/// Whether `value` still holds a `secret` member that is not `null` or any
/// `drop` member, outside subtrees under a member named `exempt`.
pub fn unprotected(value: &Value, exempt: Option<&str>) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| Some(k.as_str()) != exempt)
            .any(|(k, v)| (k == "secret" && !v.is_null()) || k == "drop" || unprotected(v, exempt)),
        Value::Array(items) => items.iter().any(|v| unprotected(v, exempt)),
        _ => false,
    }
}
