//! A local fake of a provider's API (Graph, Twilio, X, Telegram): it records every request
//! exactly as sent and answers from a script, so tests can assert on URLs, auth, bodies,
//! retries after 429/5xx and timeouts.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the fake provider received.
#[derive(Debug, Clone)]
pub struct ProviderRequest {
    pub method: Method,
    /// Path and query, e.g. `/v23.0/1234/messages`.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl ProviderRequest {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The form fields of an `application/x-www-form-urlencoded` body.
    pub fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(&self.body).into_owned().collect()
    }
}

/// An answer: status, extra headers, body; `delay` makes the client time out.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            delay: None,
        }
    }
    pub fn with_header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn slow(mut self, d: Duration) -> Reply {
        self.delay = Some(d);
        self
    }
}

struct FakeState {
    script: Mutex<VecDeque<Reply>>,
    otherwise: Mutex<Reply>,
    received: Mutex<Vec<ProviderRequest>>,
}

pub struct FakeProvider {
    /// `http://127.0.0.1:<port>`: the channel's `api_base`.
    pub base: String,
    state: Arc<FakeState>,
}

impl FakeProvider {
    /// Answers `script` in order, then `otherwise` to every request.
    pub async fn start(script: Vec<Reply>, otherwise: Reply) -> FakeProvider {
        let state = Arc::new(FakeState {
            script: Mutex::new(script.into()),
            otherwise: Mutex::new(otherwise),
            received: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .fallback(record)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeProvider { base, state }
    }

    pub fn received(&self) -> Vec<ProviderRequest> {
        self.state.received.lock().expect("lock").clone()
    }

    /// Waits until `n` requests arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<ProviderRequest> {
        super::helpers::wait_for(&format!("{n} requests at the fake provider"), || async {
            let got = self.received();
            (got.len() >= n).then_some(got)
        })
        .await
    }
}

async fn record(
    State(state): State<Arc<FakeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.received.lock().expect("lock").push(ProviderRequest {
        method,
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned()),
        headers,
        body: body.to_vec(),
    });
    let reply = state
        .script
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or_else(|| state.otherwise.lock().expect("lock").clone());
    if let Some(d) = reply.delay {
        tokio::time::sleep(d).await;
    }
    let mut resp = (
        StatusCode::from_u16(reply.status).expect("status"),
        reply.body,
    )
        .into_response();
    for (k, v) in reply.headers {
        resp.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            v.parse().expect("header value"),
        );
    }
    resp
}
