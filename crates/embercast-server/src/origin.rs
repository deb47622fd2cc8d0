//! Origin checking for connect requests (PROTOCOL.md §2.6).

/// Which `Origin` headers may connect. A request without `Origin` (a non-browser
/// client) is always allowed.
#[derive(Clone, Debug, Default)]
pub enum CheckOrigin {
    /// Any origin may connect.
    #[default]
    Off,
    /// Only origins matching one of these patterns; `null`, `file://` and other
    /// host-less origins are refused.
    Allow(Vec<OriginPattern>),
}

impl CheckOrigin {
    /// Allows the given patterns, e.g. `["https://example.com", "//*.example.org"]`.
    ///
    /// Panics on a pattern without a host: that is a configuration error.
    pub fn allow<I, S>(patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        CheckOrigin::Allow(
            patterns
                .into_iter()
                .map(|p| {
                    OriginPattern::parse(p.as_ref())
                        .unwrap_or_else(|| panic!("invalid origin pattern {:?}", p.as_ref()))
                })
                .collect(),
        )
    }

    /// Whether a request with this `Origin` header (if any) may connect.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        let (CheckOrigin::Allow(patterns), Some(origin)) = (self, origin) else { return true };
        let Some(o) = Url::parse(origin) else { return false };
        patterns.iter().any(|p| p.matches(&o))
    }
}

/// One allowed origin: `[scheme:]//host[:port]`, or a bare `host`; a host of
/// `*.example.com` matches `example.com` and all of its subdomains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: Option<String>,
    host: Host,
    port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Host {
    Exact(String),
    Subdomains(String),
}

impl OriginPattern {
    /// Parses a pattern; `None` if it has no host.
    pub fn parse(s: &str) -> Option<Self> {
        let with_slashes;
        let s = if s.contains("//") {
            s
        } else {
            with_slashes = format!("//{s}");
            &with_slashes
        };
        let u = Url::parse(s)?;
        let host = match u.host.strip_prefix("*.") {
            Some(base) if !base.is_empty() => Host::Subdomains(base.to_owned()),
            _ => Host::Exact(u.host),
        };
        let port = u.port.or_else(|| u.scheme.as_deref().and_then(default_port));
        Some(OriginPattern { scheme: u.scheme, host, port })
    }

    fn matches(&self, o: &Url) -> bool {
        if self.scheme.is_some() && self.scheme != o.scheme {
            return false;
        }
        if let Some(port) = self.port {
            if Some(port) != o.port.or_else(|| o.scheme.as_deref().and_then(default_port)) {
                return false;
            }
        }
        match &self.host {
            Host::Exact(h) => *h == o.host,
            Host::Subdomains(base) => {
                o.host == *base
                    || (o.host.len() > base.len() + 1
                        && o.host.ends_with(base.as_str())
                        && o.host.as_bytes()[o.host.len() - base.len() - 1] == b'.')
            }
        }
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// The parts of an origin we compare. The host is lower-cased.
struct Url {
    scheme: Option<String>,
    host: String,
    port: Option<u16>,
}

impl Url {
    fn parse(s: &str) -> Option<Url> {
        let (scheme, rest) = match s.split_once("//") {
            Some(("", rest)) => (None, rest),
            Some((scheme, rest)) => (Some(scheme.strip_suffix(':')?.to_ascii_lowercase()), rest),
            None => return None,
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => match p.parse::<u16>() {
                Ok(port) => (h, Some(port)),
                Err(_) if p.is_empty() => (h, None),
                Err(_) => return None,
            },
            _ => (authority, None),
        };
        if host.is_empty() {
            return None;
        }
        Some(Url { scheme, host: host.to_ascii_lowercase(), port })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_allows_everything_and_missing_origin_is_always_allowed() {
        assert!(CheckOrigin::Off.allows(Some("null")));
        assert!(CheckOrigin::allow(["//example.com"]).allows(None));
    }

    #[test]
    fn exact_hosts_ignore_scheme_and_port_unless_given() {
        let c = CheckOrigin::allow(["//example.com", "https://secure.com", "//ported.com:8080"]);
        assert!(c.allows(Some("https://example.com")));
        assert!(c.allows(Some("http://example.com:4000")));
        assert!(c.allows(Some("https://EXAMPLE.com")));
        assert!(!c.allows(Some("http://notallowed.com")));
        assert!(c.allows(Some("https://secure.com")));
        assert!(c.allows(Some("https://secure.com:443")));
        assert!(!c.allows(Some("http://secure.com")));
        assert!(!c.allows(Some("https://secure.com:8443")));
        assert!(c.allows(Some("http://ported.com:8080")));
        assert!(!c.allows(Some("http://ported.com")));
    }

    #[test]
    fn wildcards_match_the_domain_and_subdomains_only() {
        let c = CheckOrigin::allow(["*.example.com", "//*.foo.other.com"]);
        assert!(c.allows(Some("https://example.com")));
        assert!(c.allows(Some("https://a.example.com")));
        assert!(c.allows(Some("https://a.b.example.com")));
        assert!(!c.allows(Some("https://evilexample.com")));
        assert!(!c.allows(Some("https://example.com.evil.net")));
        assert!(c.allows(Some("https://org1.foo.other.com")));
        assert!(c.allows(Some("https://foo.other.com")));
        assert!(!c.allows(Some("https://bad.other.com")));
    }

    #[test]
    fn hostless_origins_are_refused_when_checking() {
        let c = CheckOrigin::allow(["//example.com"]);
        for o in ["null", "file://", "", "file:///etc/passwd", "garbage"] {
            assert!(!c.allows(Some(o)), "{o}");
        }
    }

    #[test]
    #[should_panic(expected = "invalid origin pattern")]
    fn a_pattern_without_host_is_a_configuration_error() {
        CheckOrigin::allow(["https://"]);
    }
}
