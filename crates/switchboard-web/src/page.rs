//! What every page shares: who is looking ([`Viewer`], from the session cookie), the page
//! shell with its navigation for that person's role, and small pieces of markup (times,
//! channel marks, badges).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use switchboard_core::{Permission, Role, Timestamp, UserId};
use switchboard_server::AppState;
use switchboard_server::auth::{credential_hash, csrf_token, session_cookie};

/// The person a page is for: logged in with a session cookie.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub id: UserId,
    pub name: String,
    pub role: Role,
    /// The session's CSRF token, carried by every form and sent with every change.
    pub csrf: String,
    /// How many of their notifications are unread (shown in the navigation).
    pub unread: i64,
}

impl Viewer {
    pub fn can(&self, p: Permission) -> bool {
        self.role.can(p)
    }

    /// The 403 page when the role lacks `p`; `None` when it may.
    pub fn refuse(&self, p: Permission) -> Option<Response> {
        (!self.can(p)).then(|| forbidden(self))
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            let q: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("next", &next)
                .finish();
            Redirect::to(&format!("/login?{q}")).into_response()
        };
        let Some(session) = session_cookie(&parts.headers) else {
            return Err(to_login());
        };
        match state
            .store
            .session_user(credential_hash(&session), state.clock.now())
            .await
        {
            Ok(Some(u)) if u.active => {
                // A count that cannot be read is no reason to refuse the page.
                let unread = match state.store.unread_notifications(u.id).await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "counting unread notifications");
                        0
                    }
                };
                Ok(Viewer {
                    id: u.id,
                    name: u.display_name,
                    role: u.role,
                    csrf: csrf_token(&session),
                    unread,
                })
            }
            Ok(_) => Err(to_login()),
            Err(e) => {
                tracing::error!(error = %e, "reading a session");
                Err(error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The database cannot be reached; try again in a moment.",
                ))
            }
        }
    }
}

/// Which entry of the navigation a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Inbox,
    Approvals,
    Supervisor,
    Reports,
    Admin,
    Knowledge,
    Notifications,
}

/// Where a role starts.
pub fn home_of(role: Role) -> &'static str {
    match role {
        Role::Reviewer => "/approvals",
        Role::Supervisor => "/supervisor",
        Role::Admin => "/admin",
        Role::Agent => "/inbox",
    }
}

fn nav(v: &Viewer, current: Section) -> Markup {
    let mut items: Vec<(Section, &str, &str)> = vec![(Section::Inbox, "/inbox", "Inbox")];
    if v.can(Permission::ReviewReplies) {
        items.push((Section::Approvals, "/approvals", "Approvals"));
    }
    if v.can(Permission::ManageTeams) {
        items.push((Section::Supervisor, "/supervisor", "Supervisor"));
    }
    if v.can(Permission::ViewReports) {
        items.push((Section::Reports, "/reports", "Reports"));
    }
    items.push((Section::Knowledge, "/knowledge", "Knowledge"));
    if v.can(Permission::ManageChannels) || v.can(Permission::ManageRouting) {
        items.push((Section::Admin, "/admin", "Admin"));
    }
    html! {
        nav aria-label="Main" {
            ul {
                @for (s, href, label) in items {
                    li { a href=(href) aria-current=[(s == current).then_some("page")] { (label) } }
                }
                li { a #nav-notifications href="/notifications" aria-current=[(current == Section::Notifications).then_some("page")] {
                    "Notifications"
                    @if v.unread > 0 { span.count aria-label={(v.unread) " unread"} { (v.unread) } }
                } }
            }
        }
    }
}

/// The whole page around `body`.
pub fn shell(v: &Viewer, current: Section, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="csrf-token" content=(v.csrf);
                meta name="referrer" content="same-origin";
                title { (title) " · Switchboard" }
                link rel="stylesheet" href=(crate::assets::CSS_URL);
                // No icon to fetch (a browser asks for /favicon.ico otherwise, a 404 each page).
                link rel="icon" href="data:,";
                script src=(crate::assets::JS_URL) defer {}
            }
            body data-user=(v.id) data-role=(v.role.as_str()) {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "Switchboard" }
                    (nav(v, current))
                    div.me {
                        span { (v.name) " · " (v.role.as_str()) }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(v.csrf);
                            button.link type="submit" { "Log out" }
                        }
                    }
                }
                div #live.visually-hidden role="status" aria-live="polite" {}
                main #main tabindex="-1" { (body) }
            }
        }
    }
}

/// A page with no session: the login page and the error pages.
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Switchboard" }
                link rel="stylesheet" href=(crate::assets::CSS_URL);
                // No icon to fetch (a browser asks for /favicon.ico otherwise, a 404 each page).
                link rel="icon" href="data:,";
            }
            body.bare { main #main { (body) } }
        }
    }
}

/// An HTML answer that is never cached (pages show live data and carry a CSRF token).
pub fn respond(status: StatusCode, page: Markup) -> Response {
    let mut r = (status, axum::response::Html(page.into_string())).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    r
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    respond(
        status,
        bare(
            status.canonical_reason().unwrap_or("Error"),
            html! {
                h1 { (status.canonical_reason().unwrap_or("Error")) }
                p { (message) }
                p { a href="/" { "Back to Switchboard" } }
            },
        ),
    )
}

pub fn forbidden(v: &Viewer) -> Response {
    respond(
        StatusCode::FORBIDDEN,
        shell(
            v,
            Section::Inbox,
            "Not allowed",
            html! {
                h1 { "Not allowed" }
                p { "The " (v.role.as_str()) " role may not see this page." }
            },
        ),
    )
}

/// A store error as a page.
pub fn store_error(e: switchboard_store::StoreError, what: &str) -> Response {
    match e {
        switchboard_store::StoreError::NotFound => {
            error_page(StatusCode::NOT_FOUND, &format!("There is no such {what}."))
        }
        e => {
            tracing::error!(error = %e, what, "a page could not read the store");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side; it has been logged.",
            )
        }
    }
}

/// `3 min ago`, with the exact time as a tooltip and machine-readable.
pub fn ago(now: Timestamp, t: Timestamp) -> Markup {
    let secs = (now.as_unix_micros() - t.as_unix_micros()) / 1_000_000;
    let text = match secs {
        s if s < 0 => "just now".to_owned(),
        s if s < 60 => format!("{s}s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    };
    let exact = t.to_rfc3339();
    html! { time datetime=(exact) title=(exact) { (text) } }
}

/// A short mark for a channel kind, with its full name for screen readers.
pub fn channel_mark(kind: &str) -> Markup {
    let (short, long) = match kind {
        "x" => ("X", "X (Twitter)"),
        "messenger" => ("Ms", "Messenger"),
        "instagram" => ("Ig", "Instagram"),
        "whatsapp" => ("WA", "WhatsApp"),
        "twilio" => ("SMS", "SMS"),
        "telegram" => ("Tg", "Telegram"),
        "email" => ("@", "E-mail"),
        "webchat" => ("Chat", "Web chat"),
        "webhook" => ("API", "Webhook"),
        other => (other, other),
    };
    html! { span class={"ch ch-" (kind)} title=(long) aria-label=(long) role="img" { (short) } }
}

/// A labelled badge; `tone` picks its colour (`neutral`, `good`, `warn`, `bad`).
pub fn badge(label: &str, value: &str, tone: &str) -> Markup {
    html! { span class={"badge " (tone)} { span.k { (label) } " " (value) } }
}

/// A sentiment score as shown: two decimals with a sign, and a plain 0.00 for what rounds to
/// nothing (never "−0.00").
pub fn sentiment_score(score: f32) -> String {
    if score.abs() < 0.005 {
        "0.00".to_owned()
    } else {
        format!("{score:+.2}")
    }
}

pub fn sentiment_tone(label: &str) -> &'static str {
    match label {
        "negative" => "bad",
        "positive" => "good",
        _ => "neutral",
    }
}

pub fn status_tone(status: &str) -> &'static str {
    match status {
        "new" => "warn",
        "resolved" | "closed" => "good",
        _ => "neutral",
    }
}

/// JSON for a script on the page, safe inside `<script>`: `<` never appears raw.
pub fn json_for_script(v: &serde_json::Value) -> PreEscaped<String> {
    PreEscaped(v.to_string().replace('<', "\\u003c"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentiment_scores_have_a_sign_but_never_a_negative_zero() {
        assert_eq!(sentiment_score(0.5), "+0.50");
        assert_eq!(sentiment_score(-0.314), "-0.31");
        assert_eq!(sentiment_score(-0.001), "0.00");
        assert_eq!(sentiment_score(0.0), "0.00");
        assert_eq!(sentiment_score(-1.0), "-1.00");
    }
}

/// The workspace's purposes in its order, by id and name ("tier1", "Tier 1"): pages show a
/// purpose by its name.
#[derive(Debug, Clone, Default)]
pub struct Purposes(Vec<(String, String)>);

impl Purposes {
    pub fn new(list: Vec<switchboard_store::PurposeInfo>) -> Purposes {
        Purposes(
            list.into_iter()
                .map(|p| (p.id.as_str().to_owned(), p.name))
                .collect(),
        )
    }

    /// A purpose's name; an id the workspace does not list (any more), readable
    /// ("marketing pr").
    pub fn name(&self, id: &str) -> String {
        self.0
            .iter()
            .find(|(p, _)| p == id)
            .map_or_else(|| id.replace('_', " "), |(_, name)| name.clone())
    }

    /// Every purpose: id and name.
    pub fn list(&self) -> &[(String, String)] {
        &self.0
    }
}

impl From<Vec<(String, String)>> for Purposes {
    fn from(pairs: Vec<(String, String)>) -> Purposes {
        Purposes(pairs)
    }
}
