//! Header templates: `Bearer {{token}}`, filled in from a secret's fields.

use crate::secret::SecretString;

/// A text with `{{name}}` placeholders, e.g. `Bearer {{token}}`, filled in
/// from a KV secret's fields or a database credential's `username` and
/// `password` to make a header value.
///
/// Placeholder names are 1 to 64 characters of `[A-Za-z0-9_.-]`; `{{` must
/// open a placeholder and `}}` close one (there is no escape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(String),
}

/// Why a template is not valid, or could not be filled in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// `{{` without `}}`, an empty or badly named placeholder, or a stray
    /// `}}`.
    #[error("invalid template: {reason}")]
    Invalid {
        /// What is wrong (the template text is not secret).
        reason: String,
    },
    /// The secret has no field of that name.
    #[error("the secret has no field `{field}`")]
    MissingField {
        /// The placeholder.
        field: String,
    },
}

impl Template {
    /// Parses a template.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let invalid = |reason: String| TemplateError::Invalid { reason };
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            let (before, after) = rest.split_at(open);
            if before.contains("}}") {
                return Err(invalid("`}}` without `{{`".into()));
            }
            if !before.is_empty() {
                parts.push(Part::Text(before.to_owned()));
            }
            let after = &after[2..];
            let close = after
                .find("}}")
                .ok_or_else(|| invalid("`{{` without `}}`".into()))?;
            let name = after[..close].trim();
            let ok = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !ok {
                return Err(invalid(format!(
                    "placeholder `{{{{{}}}}}` must be 1 to 64 characters of A-Z a-z 0-9 _ . -",
                    name.escape_debug()
                )));
            }
            parts.push(Part::Field(name.to_owned()));
            rest = &after[close + 2..];
        }
        if rest.contains("}}") {
            return Err(invalid("`}}` without `{{`".into()));
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// The placeholder names, in order of appearance.
    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(name) => Some(name.as_str()),
            Part::Text(_) => None,
        })
    }

    /// Fills in every placeholder with `lookup(name)`.
    pub fn render<'a>(
        &self,
        lookup: impl Fn(&str) -> Option<&'a SecretString>,
    ) -> Result<SecretString, TemplateError> {
        let mut out = SecretString::new(String::new());
        let buf = out.expose_mut();
        for part in &self.parts {
            match part {
                Part::Text(text) => buf.push_str(text),
                Part::Field(name) => {
                    let value = lookup(name).ok_or_else(|| TemplateError::MissingField {
                        field: name.clone(),
                    })?;
                    buf.push_str(value.expose());
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_render() {
        let t = Template::parse("Bearer {{ token }}").unwrap();
        assert_eq!(t.placeholders().collect::<Vec<_>>(), ["token"]);
        let token = SecretString::from("abc");
        let out = t.render(|n| (n == "token").then_some(&token)).unwrap();
        assert_eq!(out.expose(), "Bearer abc");
        let err = t.render(|_| None).unwrap_err();
        assert_eq!(err.to_string(), "the secret has no field `token`");
        assert_eq!(
            Template::parse("{{a}}:{{b}}")
                .unwrap()
                .placeholders()
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(
            Template::parse("plain")
                .unwrap()
                .placeholders()
                .next()
                .is_none()
        );
    }

    #[test]
    fn invalid() {
        for bad in ["{{token", "x}}", "{{}}", "{{a b}}", "{{a}}}}"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }
}
