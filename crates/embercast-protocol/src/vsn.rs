//! `vsn` negotiation (PROTOCOL.md §2.3).

use std::fmt;

/// A `vsn` the server cannot serve; the connection is refused (HTTP 403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VsnError(pub(crate) String);

impl fmt::Display for VsnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unsupported vsn {:?}: expected 1.x.y or 2.x.y", self.0)
    }
}

impl std::error::Error for VsnError {}

/// Parses a Semantic Versioning 2.0.0 string, `MAJOR.MINOR.PATCH[-pre][+build]`,
/// and returns the major version, or `None` if the string is not a version.
pub(crate) fn major(vsn: &str) -> Option<u64> {
    // Build metadata may itself contain '-', so '+' is split off first.
    let (version_pre, build) = match vsn.split_once('+') {
        Some((v, b)) => (v, Some(b)),
        None => (vsn, None),
    };
    let (core, pre) = match version_pre.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (version_pre, None),
    };
    let mut parts = core.split('.');
    let mut nums = [0u64; 3];
    for n in &mut nums {
        let p = parts.next()?;
        if !is_numeric(p) {
            return None;
        }
        *n = p.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    if pre.is_some_and(|p| !identifiers(p, true)) || build.is_some_and(|b| !identifiers(b, false)) {
        return None;
    }
    Some(nums[0])
}

/// A numeric identifier: ASCII digits, no leading zero (`0` itself is fine).
fn is_numeric(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s.len() == 1 || !s.starts_with('0'))
}

/// Dot-separated, non-empty identifiers of `[0-9A-Za-z-]`. In a pre-release an
/// all-digit identifier is a number and so may not have a leading zero.
fn identifiers(s: &str, pre_release: bool) -> bool {
    s.split('.').all(|id| {
        let allowed = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let all_digits = id.bytes().all(|b| b.is_ascii_digit());
        allowed && !(pre_release && all_digits && !is_numeric(id))
    })
}
