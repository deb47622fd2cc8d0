//! `embercast serve` serves the JavaScript client from the binary: the entry
//! point `/js/embercast.js`, every module it imports (followed transitively,
//! as a browser would) and the TypeScript declarations, with the right
//! content types. A browser refuses an ES module served with another type.

mod support;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::Served;

const DEADLINE: Duration = Duration::from_secs(20);

/// `GET path` over a fresh connection: (status, content-type, body).
fn get(server: &Served, path: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect_timeout(&server.addr, DEADLINE).expect("connect");
    stream.set_read_timeout(Some(DEADLINE)).expect("read timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", server.addr).expect("request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("response");
    let raw = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a header block");
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status");
    let content_type = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

/// The relative module specifiers of `import … from "./x.js"` and
/// `export … from "./x.js"` in `source`.
fn relative_imports(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for quote in ['"', '\''] {
        let marker = format!("from {quote}./");
        let mut rest = source;
        while let Some(at) = rest.find(&marker) {
            let after = &rest[at + marker.len()..];
            let end = after.find(quote).expect("a closed string");
            found.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    found
}

#[test]
fn serves_the_client_and_every_module_it_imports() {
    let server = Served::start();
    let mut seen = BTreeSet::new();
    let mut queue = vec!["embercast.js".to_owned()];
    while let Some(module) = queue.pop() {
        if !seen.insert(module.clone()) {
            continue;
        }
        let (status, content_type, body) = get(&server, &format!("/js/{module}"));
        assert_eq!(status, 200, "/js/{module}");
        assert_eq!(content_type, "text/javascript; charset=utf-8", "/js/{module}");
        assert!(!body.is_empty(), "/js/{module} is empty");
        queue.extend(relative_imports(&body));
    }
    // The entry point re-exports the public API from these modules; page.js
    // and constants.js are reached only through them.
    for module in ["socket.js", "channel.js", "presence.js", "longpoll.js", "constants.js", "page.js"] {
        assert!(seen.contains(module), "{module} not reached from embercast.js: {seen:?}");
    }
}

#[test]
fn serves_the_type_declarations() {
    let server = Served::start();
    let (status, content_type, body) = get(&server, "/js/embercast.d.ts");
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/typescript; charset=utf-8");
    assert!(body.contains("class Socket"), "embercast.d.ts declares Socket");
}

#[test]
fn unknown_files_are_not_found() {
    let server = Served::start();
    for path in ["/js/nope.js", "/js/..%2FCargo.toml", "/js/"] {
        let (status, _, _) = get(&server, path);
        assert_eq!(status, 404, "{path}");
    }
}

#[test]
fn the_page_loads_the_embedded_client() {
    let server = Served::start();
    let (status, content_type, body) = get(&server, "/");
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(body.contains(r#"from "/js/embercast.js""#), "the page imports /js/embercast.js");
}

#[test]
fn imports_are_found_in_both_quote_styles() {
    let source = "import { a } from \"./a.js\";\nexport { b } from './b.js';\nconst s = \"from nowhere\";";
    assert_eq!(relative_imports(source), ["a.js", "b.js"]);
}
