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

/// Parses `MAJOR.MINOR.PATCH[-pre][+build]` and returns the major version.
pub(crate) fn major(vsn: &str) -> Option<u64> {
    let core = vsn.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let mut nums = [0u64; 3];
    for n in &mut nums {
        let p = parts.next()?;
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || (p.len() > 1 && p.starts_with('0')) {
            return None;
        }
        *n = p.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    let rest = &vsn[core.len()..];
    if !rest.is_empty() && rest.len() == 1 {
        return None; // a dangling "-" or "+"
    }
    Some(nums[0])
}
