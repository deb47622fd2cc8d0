//! Assigns: values attached to a socket, looked up by type.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A set of values keyed by their type, like Phoenix's `socket.assigns` but typed.
///
/// `connect` fills the connection's assigns; every channel of the connection
/// reads them. Values set on the [`Socket`](crate::Socket) builder are visible
/// to every connection.
#[derive(Clone, Default)]
pub struct Assigns {
    map: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl Assigns {
    /// No values.
    pub fn new() -> Self {
        Assigns::default()
    }

    /// Stores `value`, replacing any value of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.map.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The value of type `T`, if one was stored.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.map.get(&TypeId::of::<T>()).and_then(|v| v.downcast_ref())
    }

    /// Whether no value is stored.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl fmt::Debug for Assigns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Assigns").field("len", &self.map.len()).finish()
    }
}
