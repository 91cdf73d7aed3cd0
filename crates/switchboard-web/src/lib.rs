//! Switchboard's browser workspace: server-rendered HTML (maud, escaped by construction) with
//! a small project-written script for live updates, keyboard navigation and actions. Pages
//! read the store directly; every change goes through the JSON API under `/api/v1` with the
//! session cookie and its CSRF token, so the browser can do nothing a program cannot, and
//! every rule and permission is checked in one place.
//!
//! Mount with [`routes`] beside the API (`switchboard_server::serve_with`).

pub mod admin;
mod admin_hours;
mod admin_models;
pub mod approvals;
pub mod assets;
pub mod case;
mod chart;
pub mod inbox;
pub mod knowledge;
pub mod login;
mod notifications;
pub mod page;
mod personal;
pub mod reports;
pub mod supervisor;

use axum::Router;
use axum::routing::{get, post};
use switchboard_server::AppState;

/// The workspace's pages and assets.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(login::home))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/inbox", get(inbox::page))
        .route("/cases/{id}", get(case::page))
        .route("/approvals", get(approvals::page))
        .route("/supervisor", get(supervisor::page))
        .route("/reports", get(reports::page))
        .route("/knowledge", get(knowledge::page))
        .route("/notifications", get(notifications::page))
        .route("/admin", get(admin::page))
        .route("/admin/playbook", get(admin::playbook))
        .route("/admin/models", get(admin_models::page))
        .route(assets::CSS_URL, get(assets::css))
        .route(assets::JS_URL, get(assets::js))
}
