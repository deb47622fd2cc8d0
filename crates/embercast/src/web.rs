//! The embercast JavaScript client (`clients/js/src`), served from the binary
//! at `/js/<file>` so the demo page needs no CDN, no npm and no build step.
//!
//! The files are compiled in with `include_str!`: the binary alone serves
//! them, and they are always the client of the same commit as the server.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// One embedded file of the client: its name in `clients/js/src` and its text.
struct Asset {
    name: &'static str,
    body: &'static str,
}

impl Asset {
    fn content_type(&self) -> &'static str {
        if self.name.ends_with(".d.ts") {
            "application/typescript; charset=utf-8"
        } else {
            "text/javascript; charset=utf-8"
        }
    }
}

macro_rules! assets {
    ($($name:literal),* $(,)?) => {
        &[$(Asset { name: $name, body: include_str!(concat!("../../../clients/js/src/", $name)) }),*]
    };
}

/// Every file of `clients/js/src`. A test below fails when a file is added
/// there and not here, so a new module cannot be forgotten.
const ASSETS: &[Asset] = assets! {
    "embercast.js",
    "embercast.d.ts",
    "base64.js",
    "channel.js",
    "constants.js",
    "fallback.js",
    "longpoll.js",
    "page.js",
    "params.js",
    "presence.js",
    "push.js",
    "serializer.js",
    "socket.js",
    "timer.js",
};

/// `GET /js/{file}`: the client's entry point `embercast.js`, the modules it
/// imports and `embercast.d.ts`.
pub fn router() -> axum::Router {
    axum::Router::new().route("/js/{file}", get(asset))
}

async fn asset(Path(file): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == file) else {
        return (StatusCode::NOT_FOUND, "no such file\n").into_response();
    };
    // `no-cache` lets the browser keep a copy but revalidate it, so a page
    // reloaded after the server was rebuilt never mixes two client versions.
    ([(header::CONTENT_TYPE, asset.content_type()), (header::CACHE_CONTROL, "no-cache")], asset.body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients/js/src");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("clients/js/src")
            .map(|entry| entry.expect("dir entry").file_name().into_string().expect("UTF-8 file name"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = ASSETS.iter().map(|a| a.name.to_owned()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk, "ASSETS in web.rs must list every file of clients/js/src");
    }
}
