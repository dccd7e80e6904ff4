//! The routing table: longest path prefix wins, on whole path segments; at
//! equal length a route bound to the request's host beats one that is not.
//!
//! A linear scan over routes sorted by precedence: the first match is the
//! answer. Products number in the tens, where this beats a trie and is
//! obviously correct.

use std::sync::Arc;

/// One product's place in the routing table.
#[derive(Debug)]
pub(crate) struct RouteEntry<T> {
    host: Option<String>,
    prefix: String,
    pub(crate) target: Arc<T>,
}

/// The routing table, built once per configuration.
#[derive(Debug)]
pub(crate) struct Routes<T> {
    entries: Vec<RouteEntry<T>>,
}

impl<T> Routes<T> {
    /// Builds the table from `(host, path_prefix, target)` triples.
    pub(crate) fn new(routes: impl IntoIterator<Item = (Option<String>, String, Arc<T>)>) -> Self {
        let mut entries: Vec<RouteEntry<T>> = routes
            .into_iter()
            .map(|(host, prefix, target)| RouteEntry {
                host: host.map(|h| h.to_ascii_lowercase()),
                prefix: normalize_prefix(prefix),
                target,
            })
            .collect();
        // Longest prefix first; at equal length, host-bound routes first.
        entries.sort_by(|a, b| {
            b.prefix
                .len()
                .cmp(&a.prefix.len())
                .then_with(|| b.host.is_some().cmp(&a.host.is_some()))
        });
        Self { entries }
    }

    /// The entry for a request to `host` (without port, any case) at `path`.
    pub(crate) fn find(&self, host: Option<&str>, path: &str) -> Option<&RouteEntry<T>> {
        self.entries.iter().find(|entry| {
            let host_matches = match (&entry.host, host) {
                (None, _) => true,
                (Some(want), Some(got)) => want.eq_ignore_ascii_case(got),
                (Some(_), None) => false,
            };
            host_matches && prefix_matches(&entry.prefix, path)
        })
    }
}

/// `/a/` and `/a` are the same prefix; `/` stays `/`.
pub(crate) fn normalize_prefix(mut prefix: String) -> String {
    while prefix.len() > 1 && prefix.ends_with('/') {
        prefix.pop();
    }
    prefix
}

/// `/customers` matches `/customers`, `/customers/` and `/customers/42`,
/// never `/customersX`.
fn prefix_matches(prefix: &str, path: &str) -> bool {
    if prefix == "/" {
        return path.starts_with('/');
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(routes: &[(Option<&str>, &str, &str)]) -> Routes<String> {
        Routes::new(
            routes
                .iter()
                .map(|(h, p, t)| (h.map(str::to_owned), p.to_string(), Arc::new(t.to_string()))),
        )
    }

    fn find<'a>(routes: &'a Routes<String>, host: Option<&str>, path: &str) -> Option<&'a str> {
        routes.find(host, path).map(|e| e.target.as_str())
    }

    #[test]
    fn longest_prefix_wins_on_segment_boundaries() {
        let routes = table(&[
            (None, "/", "root"),
            (None, "/customers", "customers"),
            (None, "/customers/vip", "vip"),
        ]);
        assert_eq!(find(&routes, None, "/customers"), Some("customers"));
        assert_eq!(find(&routes, None, "/customers/42"), Some("customers"));
        assert_eq!(find(&routes, None, "/customers/vip/1"), Some("vip"));
        assert_eq!(find(&routes, None, "/customersX"), Some("root"));
        assert_eq!(find(&routes, None, "/other"), Some("root"));
    }

    #[test]
    fn no_match_without_a_catch_all() {
        let routes = table(&[(None, "/customers", "customers")]);
        assert_eq!(find(&routes, None, "/orders"), None);
        assert_eq!(find(&routes, None, "/customer"), None);
    }

    #[test]
    fn host_bound_routes_win_at_equal_length() {
        let routes = table(&[
            (None, "/api", "any"),
            (Some("Data.Example.com"), "/api", "bound"),
        ]);
        assert_eq!(
            find(&routes, Some("data.example.com"), "/api/x"),
            Some("bound")
        );
        assert_eq!(
            find(&routes, Some("other.example.com"), "/api/x"),
            Some("any")
        );
        assert_eq!(find(&routes, None, "/api/x"), Some("any"));
    }
}
