//! Logging in and out, and `/`: each person's home by role.
//!
//! The login form works without script. It is protected against login CSRF by a double
//! submit: the form page sets a random HttpOnly `sb_login` cookie (SameSite=Strict) and puts
//! the same value in the form; a post whose two values differ is refused.

use crate::page::{Viewer, bare, home_of, respond};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use switchboard_server::AppState;
use switchboard_server::auth::{
    SESSION_COOKIE, authenticate, cookie, credential_hash, csrf_matches, new_credential,
    session_cookie, start_session,
};

const LOGIN_COOKIE: &str = "sb_login";

pub async fn home(v: Viewer) -> Response {
    Redirect::to(home_of(v.role)).into_response()
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only a path on this site (`/inbox`), never `//elsewhere` or a full URL.
fn safe_next(next: Option<&str>) -> Option<&str> {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
}

fn login_page(token: &str, next: Option<&str>, username: &str, problem: Option<&str>) -> Markup {
    bare(
        "Log in",
        html! {
            div.login {
                h1 { "Switchboard" }
                p.sub { "Every message, to the team that owns it." }
                @if let Some(p) = problem {
                    p.error role="alert" #login-error { (p) }
                }
                form method="post" action="/login" {
                    input type="hidden" name="token" value=(token);
                    @if let Some(n) = next { input type="hidden" name="next" value=(n); }
                    label for="username" { "Username" }
                    input #username name="username" autocomplete="username" required
                        autofocus value=(username)
                        aria-describedby=[problem.map(|_| "login-error")];
                    label for="password" { "Password" }
                    input #password name="password" type="password"
                        autocomplete="current-password" required;
                    button.primary type="submit" { "Log in" }
                }
            }
        },
    )
}

fn with_login_cookie(status: StatusCode, token: &str, page: Markup) -> Response {
    let mut r = respond(status, page);
    if let Ok(v) = format!("{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login").parse()
    {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

pub async fn form(Query(q): Query<Next>) -> Response {
    let token = new_credential("sbl");
    with_login_cookie(
        StatusCode::OK,
        &token,
        login_page(&token, safe_next(q.next.as_deref()), "", None),
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    token: String,
    next: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref()).map(str::to_owned);
    let again = |status, problem: &str| {
        let token = new_credential("sbl");
        with_login_cookie(
            status,
            &token,
            login_page(&token, next.as_deref(), &f.username, Some(problem)),
        )
    };
    if cookie(&headers, LOGIN_COOKIE).as_deref() != Some(f.token.as_str()) {
        return again(
            StatusCode::FORBIDDEN,
            "This form expired or came from another site; log in again.",
        );
    }
    let user = match authenticate(&state, &f.username, f.password).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return again(
                StatusCode::UNAUTHORIZED,
                "Unknown username or wrong password.",
            );
        }
        Err(e) => return e.into_response(),
    };
    let (_, set) = match start_session(&state, user.id).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let to = next.unwrap_or_else(|| home_of(user.role).to_owned());
    let mut r = Redirect::to(&to).into_response();
    if let Ok(v) = set.parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    if let Ok(v) = format!("{LOGIN_COOKIE}=; Max-Age=0; Path=/login").parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LogoutForm>,
) -> Response {
    if let Some(s) = session_cookie(&headers) {
        if !csrf_matches(&s, &f.csrf) {
            return crate::page::error_page(
                StatusCode::FORBIDDEN,
                "This form came from another site or an old page; nothing was done.",
            );
        }
        if let Err(e) = state.store.delete_session(credential_hash(&s)).await {
            tracing::error!(error = %e, "ending a session");
        }
    }
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0").parse() {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
