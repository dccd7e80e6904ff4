//! Configuration errors: every problem found, each with where it is.
//!
//! A [`ConfigError`] carries one or more [`Diagnostic`]s. Each names the file,
//! the line and column when known, the key path (`product[1].upstream.url`)
//! and what is wrong, and displays as one line in the form compilers use,
//! `FILE:LINE:COLUMN: KEY.PATH: MESSAGE`, so editors can jump to it.
//!
//! Messages never contain a secret: the configuration holds none (credentials
//! come from the secrets store), and a URL that carries credentials is refused
//! without being echoed.

use std::{fmt, io, path::PathBuf};

/// A configuration that cannot be used, with every problem found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read (missing, unreadable, not UTF-8).
    #[error("{}", Lines(diagnostics))]
    Read {
        /// One diagnostic naming the file and the I/O error.
        diagnostics: Vec<Diagnostic>,
        /// The underlying I/O error (already part of the message).
        error: io::Error,
    },
    /// The text is not TOML, or does not fit the schema: a syntax error, an
    /// unknown key, a missing key or a value of the wrong type. Parsing stops
    /// at the first such problem, so there is exactly one diagnostic.
    #[error("{}", Lines(diagnostics))]
    Parse {
        /// The problem, located.
        diagnostics: Vec<Diagnostic>,
    },
    /// The file fits the schema but its values are not acceptable together:
    /// duplicate addresses, overlapping routes, missing certificate files...
    /// Every problem found is reported.
    #[error("{}", Lines(diagnostics))]
    Invalid {
        /// The problems, in file order of the keys they concern.
        diagnostics: Vec<Diagnostic>,
    },
}

impl ConfigError {
    /// The error for `diagnostics`, problems found in a configuration that
    /// parsed, in file order (problems about keys not written in the file
    /// last). `diagnostics` must not be empty.
    pub fn invalid(mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by_key(|d| (d.location.is_none(), d.location));
        Self::Invalid { diagnostics }
    }

    /// The error for `problems` found after the file at `path` loaded (by
    /// compiling what it describes), known by key path only: each is
    /// located in the file, read again once, as the loader's own checks
    /// are (a file that cannot be read leaves them without a line).
    pub fn invalid_in(path: &std::path::Path, problems: &[Diagnostic]) -> Self {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let diagnostics = problems
            .iter()
            .map(|p| Diagnostic::located(path, &text, p.key_path.clone(), p.message.clone()))
            .collect();
        Self::Invalid { diagnostics }
    }

    /// Every problem, in the order they are displayed. Never empty.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Self::Read { diagnostics, .. }
            | Self::Parse { diagnostics }
            | Self::Invalid { diagnostics } => diagnostics,
        }
    }
}

/// Displays diagnostics one per line, without a trailing newline.
struct Lines<'a>(&'a [Diagnostic]);

impl fmt::Display for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            fmt::Display::fmt(d, f)?;
        }
        Ok(())
    }
}

/// One problem in a configuration, and where it is.
///
/// Displays as `FILE:LINE:COLUMN: KEY.PATH: MESSAGE`; the parts that are not
/// known are left out (with their separator).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnostic {
    /// The file the configuration came from; empty for a configuration built
    /// in code and checked with [`Config::validate`](crate::Config::validate).
    pub file: PathBuf,
    /// Where in the file, when the text is at hand and the key is written in
    /// it (a problem with a default value has no location).
    pub location: Option<Location>,
    /// The key the problem is about, like `server.listener[0].tls.cert` or
    /// `product[1].upstream.url`; empty for the whole file.
    pub key_path: String,
    /// What is wrong, and where it helps, how to fix it.
    pub message: String,
}

impl Diagnostic {
    /// A problem found after loading (e.g. by compiling what the
    /// configuration describes), located in `text` (the file's content) by
    /// its key path, like the loader's own diagnostics.
    pub fn located(
        file: impl Into<PathBuf>,
        text: &str,
        key_path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let key_path = key_path.into();
        let location = crate::locate::locate(text, &key_path);
        Self::new(file, location, key_path, message)
    }

    pub(crate) fn new(
        file: impl Into<PathBuf>,
        location: Option<Location>,
        key_path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            location,
            key_path: key_path.into(),
            message: message.into(),
        }
    }

    /// The file the configuration came from (empty when built in code).
    pub fn file(&self) -> &std::path::Path {
        &self.file
    }

    /// Line and column in the file, when known.
    pub fn location(&self) -> Option<Location> {
        self.location
    }

    /// The key path, like `product[1].upstream.url`; empty for the whole file.
    pub fn key_path(&self) -> &str {
        &self.key_path
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.file.as_os_str().is_empty() {
            write!(f, "{}", self.file.display())?;
            if let Some(location) = self.location {
                write!(f, ":{location}")?;
            }
            f.write_str(": ")?;
        } else if let Some(location) = self.location {
            write!(f, "{location}: ")?;
        }
        if !self.key_path.is_empty() {
            write!(f, "{}: ", self.key_path)?;
        }
        f.write_str(&self.message)
    }
}

/// A position in a configuration file. Both numbers start at 1; the column
/// counts characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct Location {
    /// Line number, from 1.
    pub line: usize,
    /// Column number in characters, from 1.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `text` (clamped to the end of the
    /// text, and to the start of a character).
    pub(crate) fn of_offset(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Self {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_one_based_lines_and_character_columns() {
        let text = "a = 1\nb = \"é\" x\n";
        assert_eq!(
            Location::of_offset(text, 0),
            Location { line: 1, column: 1 }
        );
        assert_eq!(
            Location::of_offset(text, 6),
            Location { line: 2, column: 1 }
        );
        // "x" is after the two-byte "é": byte 15, character column 9.
        let x = text.find('x').unwrap();
        assert_eq!(
            Location::of_offset(text, x),
            Location { line: 2, column: 9 }
        );
        // Past the end: clamped.
        assert_eq!(
            Location::of_offset(text, 999),
            Location { line: 3, column: 1 }
        );
    }

    #[test]
    fn display_leaves_out_unknown_parts() {
        let full = Diagnostic::new(
            "gw.toml",
            Some(Location { line: 3, column: 7 }),
            "product[0].upstream.url",
            "no host",
        );
        assert_eq!(
            full.to_string(),
            "gw.toml:3:7: product[0].upstream.url: no host"
        );

        let no_location = Diagnostic::new("gw.toml", None, "admin.address", "taken");
        assert_eq!(no_location.to_string(), "gw.toml: admin.address: taken");

        let no_file = Diagnostic::new("", None, "server.listener", "none");
        assert_eq!(no_file.to_string(), "server.listener: none");

        let no_key = Diagnostic::new("gw.toml", Some(Location { line: 1, column: 1 }), "", "bad");
        assert_eq!(no_key.to_string(), "gw.toml:1:1: bad");
    }

    #[test]
    fn error_displays_one_line_per_diagnostic() {
        let err = ConfigError::Invalid {
            diagnostics: vec![
                Diagnostic::new("a.toml", None, "x", "one"),
                Diagnostic::new("a.toml", None, "y", "two"),
            ],
        };
        assert_eq!(err.to_string(), "a.toml: x: one\na.toml: y: two");
        assert_eq!(err.diagnostics().len(), 2);
    }
}
