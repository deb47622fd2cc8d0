//! Topic routing: patterns with an optional trailing `*`, first match wins.

use std::sync::Arc;

use crate::runtime::ChannelFactory;

/// Topics for node-to-node traffic on the PubSub (the presence tracker's
/// gossip): no channel route matches them.
pub(crate) const INTERNAL_TOPIC_PREFIX: &str = "phx_presence:";

/// The routes of one socket, in declaration order.
#[derive(Default, Clone)]
pub(crate) struct Router {
    routes: Vec<(Pattern, Arc<dyn ChannelFactory>)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Pattern {
    Exact(String),
    Prefix(String),
}

impl Pattern {
    /// Parses `room:*` (prefix) or `lobby` (exact).
    ///
    /// Panics if `*` appears anywhere but at the end: a configuration error.
    pub(crate) fn parse(p: &str) -> Pattern {
        match p.strip_suffix('*') {
            Some(prefix) if !prefix.contains('*') => Pattern::Prefix(prefix.to_owned()),
            None if !p.contains('*') => Pattern::Exact(p.to_owned()),
            _ => panic!("invalid topic pattern {p:?}: '*' is only allowed at the end"),
        }
    }

    fn matches(&self, topic: &str) -> bool {
        match self {
            Pattern::Exact(t) => t == topic,
            Pattern::Prefix(p) => topic.starts_with(p.as_str()),
        }
    }
}

impl Router {
    pub(crate) fn add(&mut self, pattern: &str, factory: Arc<dyn ChannelFactory>) {
        self.routes.push((Pattern::parse(pattern), factory));
    }

    /// The route of `topic`. Internal topics never have one: a client must not
    /// subscribe to the presence tracker's gossip, even through a catch-all route.
    pub(crate) fn route(&self, topic: &str) -> Option<&Arc<dyn ChannelFactory>> {
        self.index(topic).map(|i| &self.routes[i].1)
    }

    fn index(&self, topic: &str) -> Option<usize> {
        if topic.starts_with(INTERNAL_TOPIC_PREFIX) {
            return None;
        }
        self.routes.iter().position(|(p, _)| p.matches(topic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::JoinRequest;

    struct Nop;
    impl ChannelFactory for Nop {
        fn spawn(&self, _: JoinRequest) -> tokio::task::JoinHandle<()> {
            unreachable!()
        }
    }

    #[test]
    fn first_declared_match_wins() {
        let mut r = Router::default();
        r.add("food*", Arc::new(Nop));
        r.add("foo*", Arc::new(Nop));
        r.add("system", Arc::new(Nop));
        assert_eq!(r.index("food:1"), Some(0));
        assert_eq!(r.index("foo:1"), Some(1));
        assert_eq!(r.index("foobar"), Some(1));
        assert_eq!(r.index("system"), Some(2));
        assert_eq!(r.index("system:1"), None);
        assert_eq!(r.index("fo"), None);
    }

    #[test]
    fn internal_topics_match_no_route_not_even_a_catch_all() {
        let mut r = Router::default();
        r.add("*", Arc::new(Nop));
        assert_eq!(r.index("room:1"), Some(0));
        assert_eq!(r.index("phx_presence:presence_shard0"), None);
        assert_eq!(r.index("phx_presence:"), None);
        assert_eq!(r.index("phx_presenc"), Some(0));
    }

    #[test]
    fn prefix_matches_the_bare_prefix() {
        assert!(Pattern::parse("room:*").matches("room:"));
        assert!(Pattern::parse("room:*").matches("room:a:b"));
    }

    #[test]
    #[should_panic(expected = "invalid topic pattern")]
    fn star_in_the_middle_is_refused() {
        Pattern::parse("room:*:x");
    }
}
