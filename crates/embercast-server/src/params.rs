//! Connect parameters from the query string.

/// The connect request's query parameters (the client's `params` plus `vsn`).
///
/// Keys are kept as sent, so nested params appear in bracket form
/// (`user[id]`). When a key repeats, [`Params::get`] returns the last value,
/// as Plug does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses an `application/x-www-form-urlencoded` query string.
    pub fn parse(query: &str) -> Self {
        let pairs = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect();
        Params { pairs }
    }

    /// The last value given for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Whether `key` appears at all, with or without brackets (`key[]`, `key[x]`).
    pub(crate) fn has_nested(&self, key: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k.strip_prefix(key).is_some_and(|rest| rest.starts_with('[')))
    }

    /// Every pair, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Adds a pair (path parameters, tests).
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.pairs.push((key.into(), value.into()));
    }
}

/// Percent-decoding with `+` as space; invalid escapes are kept literally and
/// invalid UTF-8 is replaced, so untrusted input never fails here.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_value_wins_and_escapes_decode() {
        let p = Params::parse("token=a&user%5Bid%5D=7&token=b+c&vsn=2.0.0&bad=%zz&end=%4");
        assert_eq!(p.get("token"), Some("b c"));
        assert_eq!(p.get("user[id]"), Some("7"));
        assert_eq!(p.get("bad"), Some("%zz"));
        assert_eq!(p.get("end"), Some("%4"));
        assert!(p.has_nested("user"));
        assert!(!p.has_nested("token"));
    }
}
