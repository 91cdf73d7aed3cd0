//! The stylesheet and script, compiled into the binary. Their URLs carry the crate version so
//! a new release is never served a stale copy, and they are cached for a day.

use axum::http::header;
use axum::response::IntoResponse;

pub const CSS_URL: &str = concat!("/assets/app-", env!("CARGO_PKG_VERSION"), ".css");
pub const JS_URL: &str = concat!("/assets/app-", env!("CARGO_PKG_VERSION"), ".js");

const CSS: &str = include_str!("../assets/app.css");
const JS: &str = include_str!("../assets/app.js");

pub async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        CSS,
    )
}

pub async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        JS,
    )
}
