//! The demo's HTTP endpoints: `/`, `/healthz` and `POST /api/broadcast`.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use embercast_server::PubSub;
use serde_json::{json, Value};

#[derive(Clone)]
struct Api {
    pubsub: PubSub,
    api_key: Option<String>,
}

pub fn router(pubsub: PubSub, api_key: Option<String>) -> axum::Router {
    axum::Router::new()
        .route("/", get(index))
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/api/broadcast", post(broadcast))
        .with_state(Api { pubsub, api_key })
}

async fn index() -> Html<&'static str> {
    Html(include_str!("index.html"))
}

/// The token of an `Authorization: Bearer <token>` value; the scheme's case
/// does not matter (RFC 9110 §11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// `{"topic": …, "event": …, "payload": {…}}` → broadcast to the topic.
async fn broadcast(State(api): State<Api>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(key) = &api.api_key {
        let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if given.and_then(bearer_token) != Some(key.as_str()) {
            return error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
        }
    }
    let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "body must be a JSON object with topic, event and (optionally) payload");
    };
    let (Some(Value::String(topic)), Some(Value::String(event))) = (body.remove("topic"), body.remove("event")) else {
        return error(StatusCode::BAD_REQUEST, "topic and event must be strings");
    };
    let payload = body.remove("payload").unwrap_or_else(|| json!({}));
    if !payload.is_object() {
        return error(StatusCode::BAD_REQUEST, "payload must be a JSON object");
    }
    match api.pubsub.broadcast(&topic, &event, payload) {
        Ok(()) => (StatusCode::ACCEPTED, Json(json!({"status": "ok"}))).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer k1"), Some("k1"));
        assert_eq!(bearer_token("bearer k1"), Some("k1"));
        assert_eq!(bearer_token("BEARER  k1 "), Some("k1"));
        assert_eq!(bearer_token("Basic k1"), None);
        assert_eq!(bearer_token("Bearerk1"), None);
    }
}
