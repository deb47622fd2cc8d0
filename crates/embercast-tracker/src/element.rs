//! What is tracked: a presence, in its wire form and as a borrowed view.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Dot, OwnerId};

/// A presence as it travels in deltas and extracts: `(owner, topic, key, meta)`.
///
/// The meta is stored exactly as given: the CRDT neither adds nor reads
/// `phx_ref` / `phx_ref_prev` (the runtime puts them in before calling
/// [`State::track`](crate::State::track) / [`State::update_with`](crate::State::update_with)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Element {
    /// Who is present.
    pub owner: OwnerId,
    /// Where.
    pub topic: Arc<str>,
    /// Under which presence key (Phoenix groups by `to_string(key)`).
    pub key: Arc<str>,
    /// The meta map (a JSON object).
    pub meta: Value,
}

/// A stored presence, borrowed from a [`State`](crate::State).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Presence<'a> {
    /// Topic it is tracked on.
    pub topic: &'a Arc<str>,
    /// Presence key.
    pub key: &'a Arc<str>,
    /// Owner.
    pub owner: OwnerId,
    /// Meta, as last tracked or updated.
    pub meta: &'a Value,
    /// The event that created this version of the presence; its replica is the
    /// replica the owner lives on.
    pub dot: &'a Dot,
}

impl Presence<'_> {
    /// An owned copy in wire form.
    pub fn to_element(&self) -> Element {
        Element { owner: self.owner, topic: self.topic.clone(), key: self.key.clone(), meta: self.meta.clone() }
    }
}
