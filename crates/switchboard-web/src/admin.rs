//! Admin: channels (the webhook URL to paste at the provider, a guided form to connect one),
//! teams and members, users and roles, and the playbook editor (check, simulate against
//! history, publish) — where business hours and SLA policies live.

use crate::page::{Section, Viewer, ago, respond, shell};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use switchboard_core::Permission;
use switchboard_server::AppState;

const KINDS: [(&str, &str); 9] = [
    ("webhook", "Generic webhook (your own systems)"),
    ("messenger", "Facebook Messenger"),
    ("instagram", "Instagram"),
    ("whatsapp", "WhatsApp Cloud API"),
    ("x", "X (Twitter)"),
    ("twilio", "SMS (Twilio)"),
    ("telegram", "Telegram"),
    ("email", "E-mail"),
    ("webchat", "Web chat widget"),
];

pub async fn page(State(state): State<AppState>, v: Viewer) -> Response {
    if !(v.can(Permission::ManageChannels) || v.can(Permission::ManageRouting)) {
        return crate::page::forbidden(&v);
    }
    let (channels, teams, users, activity) = match tokio::try_join!(
        state.store.list_channels(),
        state.store.list_teams(),
        state.store.list_users(),
        state.store.channel_activity(),
    ) {
        Ok(x) => x,
        Err(e) => return crate::page::store_error(e, "admin"),
    };
    let playbook = crate::admin_hours::active_playbook(&state).await;
    let hours = crate::admin_hours::section(&playbook);
    // The teams a rule (or an SLA breach) sends cases to; `None`: no playbook to read.
    let routed: Option<Vec<String>> = playbook.as_ref().ok().map(|pb| {
        pb.iter()
            .flat_map(|pb| {
                let rules = pb.rules.iter().filter_map(|r| r.then.team.clone());
                let breaches = pb.slas.iter().flat_map(|s| {
                    s.on_breach.iter().filter_map(|a| match a {
                        switchboard_core::sla::BreachAction::Reassign(t) => Some(t.clone()),
                        _ => None,
                    })
                });
                rules.chain(breaches).collect::<Vec<_>>()
            })
            .collect()
    });
    let now = state.clock.now();
    let base = state.config.public_url.trim_end_matches('/').to_owned();
    let body = html! {
        h1 { "Admin" }
        p {
            a.button href="/admin/playbook" { "Edit the playbook (routing, business hours, SLAs)" }
            " "
            @if v.can(Permission::ManageRouting) { a.button href="/admin/models" { "Models (purpose, intent, sentiment, learning from corrections)" } }
        }
        section #channels {
            h2 { "Channels" }
            table.grid {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Kind" } th scope="col" { "State" }
                    th scope="col" { "Webhook URL to paste at the provider" } th scope="col" { "Last heard from the provider" }
                    th scope="col" { "Test" } } }
                tbody {
                    @for c in &channels {
                        @let url = format!("{base}/hooks/{}/{}", c.kind, c.id);
                        @let heard = activity.iter().find(|a| a.channel_id == c.id);
                        tr { th scope="row" { (c.name) } td { (c.kind) }
                            td { @if c.active { "on" } @else { "off" } }
                            td { input.copy readonly value=(url) aria-label={"Webhook URL of " (c.name)}; }
                            td { @match heard {
                                Some(a) => { (ago(now, a.last_received_at)) " — "
                                    @match a.last_outcome.as_deref() {
                                        Some("ok") => "processed",
                                        Some(other) => span.warn { (other) },
                                        None => "waiting to be filed",
                                    } },
                                None => span.hint { "nothing yet" },
                            } }
                            td { @if !c.active { span.hint { "turned off" } } @else if v.can(Permission::ManageChannels) {
                                form.test-message data-api={"/api/v1/channels/" (c.id) "/test"} data-after="test" {
                                    // Any text, in any language: where would it go? Empty: a standard one.
                                    input type="text" name="text" maxlength="2000"
                                        aria-label={"Text of the test message on " (c.name)}
                                        placeholder="Text (optional)";
                                    button type="submit" aria-label={"Send a test message on " (c.name)} { "Send a test message" }
                                    div.form-error role="alert" {}
                                    p.form-done aria-live="polite" {}
                                }
                            } }
                        }
                    }
                }
            }
            p.hint { "A test message comes from a made-up customer through the same path as a provider's: it is understood, routed by the playbook and filed on a case, so you see where this channel's messages go. It is a real case (it counts in reports); replies to it are not sent anywhere. To check the provider itself, send a real message there and watch \"Last heard\"." }
            details.box #connect {
                summary { "Connect a channel" }
                form data-api="/api/v1/channels" data-after="channel" {
                    ol.steps {
                        li { label for="ch-kind" { "What to connect" }
                            select #ch-kind name="kind" required { @for (k, label) in KINDS { option value=(k) { (label) } } } }
                        li { label for="ch-name" { "A name your team will recognise" }
                            input #ch-name name="name" required placeholder="Support on WhatsApp"; }
                        li { label for="ch-config" { "Settings from the provider (JSON: page_id, phone_number_id, account_sid, api_base…)" }
                            textarea #ch-config name="config" data-type="json" rows="3" placeholder="{}" {} }
                        li { label for="ch-credentials" { "Secrets from the provider (JSON: app_secret, access_token, auth_token…) — sealed, never shown again" }
                            textarea #ch-credentials name="credentials" data-type="json" rows="3" placeholder="{}" {} }
                        li { label for="ch-outbound" { "Or, for a generic webhook: where replies are posted" }
                            input #ch-outbound name="outbound_url" type="url" placeholder="https://example.com/switchboard"; }
                        li { "Connect, then paste the webhook URL shown at the provider and send a test message: it appears in the inbox." }
                    }
                    div.form-error role="alert" {}
                    button.primary type="submit" { "Connect" }
                    div.form-done #connect-result role="status" {}
                }
            }
        }
        section #teams {
            h2 { "Teams and members" }
            table.grid {
                thead { tr { th scope="col" { "Team" } th scope="col" { "Playbook name" } th scope="col" { "Members" } } }
                tbody {
                    @for t in &teams {
                        tr { th scope="row" { (t.name)
                                @if routed.as_ref().is_some_and(|r| !r.contains(&t.slug)) {
                                    br; span.hint.unrouted { "No playbook rule sends cases here yet: add one in the " a href="/admin/playbook" { "playbook" } " (or transfer cases to it)." }
                                } }
                            td { code { (t.slug) } }
                            td { @for m in &t.members {
                                span.pill { (m.display_name)
                                    @if v.can(Permission::ManageTeams) {
                                        form.inline-pill data-api={"/api/v1/teams/" (t.id) "/members/" (m.user_id)} data-method="DELETE" data-after="reload" {
                                            button.link type="submit" aria-label={"Remove " (m.display_name) " from " (t.name)} title="Remove from the team" { "×" }
                                        }
                                    }
                                } " " } } }
                    }
                }
            }
            @if v.can(Permission::ManageTeams) {
                form.inline data-api="/api/v1/teams" data-after="reload" {
                    label for="team-name" { "New team" }
                    input #team-name name="name" required;
                    button type="submit" { "Add team" }
                    div.form-error role="alert" {}
                }
                form.inline #member-form data-api-template="/api/v1/teams/{team}/members" data-after="reload" {
                    label for="member-team" { "Add" }
                    select #member-team name="team" data-path="team" { @for t in &teams { option value=(t.id) { (t.name) } } }
                    label for="member-user" { "member" }
                    select #member-user name="user_id" { @for u in &users { option value=(u.id) { (u.display_name) } } }
                    button type="submit" { "Add member" }
                    div.form-error role="alert" {}
                }
            }
        }
        (hours)
        section #users {
            h2 { "Users and roles" }
            table.grid {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Username" } th scope="col" { "Role" } th scope="col" { "Status" } th scope="col" { "Since" }
                    @if v.can(Permission::ManageUsers) { th scope="col" { "Change" } } } }
                tbody {
                    @for u in &users {
                        tr { th scope="row" { (u.display_name) } td { (u.username) }
                            td { @if v.can(Permission::ManageUsers) && u.id != v.id {
                                form.inline id={"role-" (u.id)} data-api={"/api/v1/users/" (u.id)} data-method="PATCH" data-after="reload" {
                                    select name="role" aria-label={"Role of " (u.display_name)} {
                                        @for r in ["agent", "reviewer", "supervisor", "admin"] {
                                            option selected[r == u.role.as_str()] { (r) } } }
                                    button type="submit" { "Save" }
                                    div.form-error role="alert" {}
                                }
                            } @else { (u.role.as_str()) } }
                            td { @if u.active { (format!("{:?}", u.availability).to_lowercase()) } @else { "deactivated" } }
                            td { (ago(now, u.created_at)) }
                            @if v.can(Permission::ManageUsers) { td {
                                @if u.id == v.id {
                                    span.hint { "You (another admin changes your role or account)" }
                                } @else {
                                form.inline data-api={"/api/v1/users/" (u.id)} data-method="PATCH" data-after="reload" {
                                    input type="hidden" name="active" data-type="json" value=(if u.active { "false" } else { "true" });
                                    @if u.active {
                                        button type="submit" data-confirm={"Deactivate " (u.display_name) "? They are signed out and their open cases go back to their teams."} { "Deactivate" }
                                    } @else { button type="submit" { "Reactivate" } }
                                    div.form-error role="alert" {}
                                }
                                details.inline { summary { "Set a password" }
                                    form.inline data-api={"/api/v1/users/" (u.id)} data-method="PATCH" data-after="done" data-done="Password set; their sessions have ended." {
                                        label for={"pw-" (u.id)} { "New password" }
                                        input id={"pw-" (u.id)} name="password" type="password" minlength="12" required autocomplete="new-password";
                                        button type="submit" { "Set" }
                                        div.form-error role="alert" {}
                                        p.form-done aria-live="polite" {}
                                    }
                                }
                                }
                            } }
                        }
                    }
                }
            }
            @if v.can(Permission::ManageUsers) {
                form.inline data-api="/api/v1/users" data-after="reload" {
                    label for="user-name" { "Username" } input #user-name name="username" required;
                    label for="user-display" { "Name" } input #user-display name="display_name";
                    label for="user-role" { "Role" }
                    select #user-role name="role" { @for r in ["agent", "reviewer", "supervisor", "admin"] { option { (r) } } }
                    label for="user-password" { "Password" } input #user-password name="password" type="password" minlength="12" autocomplete="new-password";
                    button type="submit" { "Add user" }
                    div.form-error role="alert" {}
                }
            }
        }
    };
    respond(StatusCode::OK, shell(&v, Section::Admin, "Admin", body))
}

pub async fn playbook(State(state): State<AppState>, v: Viewer) -> Response {
    if let Some(r) = v.refuse(Permission::ManageRouting) {
        return r;
    }
    let active = match state.store.playbook(None).await {
        Ok(p) => Some(p),
        Err(switchboard_store::StoreError::NotFound) => None,
        Err(e) => return crate::page::store_error(e, "playbook"),
    };
    let versions = match state.store.list_playbooks().await {
        Ok(v) => v,
        Err(e) => return crate::page::store_error(e, "playbook"),
    };
    // The simulation names teams by id; the page shows their names.
    let team_names: serde_json::Map<String, serde_json::Value> =
        match state.store.list_teams().await {
            Ok(t) => t
                .into_iter()
                .map(|t| (t.slug, serde_json::Value::String(t.name)))
                .collect(),
            Err(e) => return crate::page::store_error(e, "teams"),
        };
    // And purposes by id, as the inbox names them.
    let purpose_names: serde_json::Map<String, serde_json::Value> =
        match state.store.purposes().await {
            Ok(p) => crate::page::Purposes::new(p)
                .list()
                .iter()
                .map(|(id, name)| (id.clone(), serde_json::Value::String(name.clone())))
                .collect(),
            Err(e) => return crate::page::store_error(e, "purposes"),
        };
    let now = state.clock.now();
    let source = active
        .as_ref()
        .and_then(|p| p.source.clone())
        .unwrap_or_default();
    let body = html! {
        h1 { "Playbook" }
        p.hint { "Teams, business hours, SLA policies, approval policies and routing rules, in one TOML file. Check it, simulate it against the last 30 days, then publish." }
        form #playbook-form data-api="/api/v1/playbook/check" data-after="playbook" data-warn-unsaved {
            label for="source" { "Playbook source" }
            // Not wrapped: a line of the file is a line on screen, as the problems count them.
            textarea #source name="source" rows="24" spellcheck="false" wrap="off" data-caret="source-caret" { (source) }
            p.hint #source-caret aria-live="off" { "Line 1 of " (source.split('\n').count()) ", column 1" }
            div.buttons {
                button type="submit" { "Check" }
                button type="submit" data-api="/api/v1/playbook/simulate" { "Simulate" }
                button.primary type="submit" data-api="/api/v1/playbook" data-method="PUT" data-after="reload" data-confirm="Publish this playbook? New cases route by it at once." { "Publish" }
            }
            div.form-error role="alert" {}
            div.result #playbook-result data-teams=(serde_json::Value::Object(team_names).to_string())
                data-purposes=(serde_json::Value::Object(purpose_names).to_string()) {}
        }
        section {
            h2 { "Versions" }
            table.grid {
                thead { tr { th scope="col" { "Version" } th scope="col" { "Summary" } th scope="col" { "By" } th scope="col" { "When" } th scope="col" { "" } } }
                tbody {
                    @for p in &versions {
                        tr { th scope="row" { (p.version) @if p.active { " (active)" } } td { (p.summary) } td { (p.created_by) } td { (ago(now, p.created_at)) }
                            td { @if !p.active {
                                form data-api={"/api/v1/playbook/versions/" (p.version) "/restore"} data-after="reload" {
                                    button.link type="submit" { "Restore" } }
                            } } }
                    }
                }
            }
        }
    };
    respond(StatusCode::OK, shell(&v, Section::Admin, "Playbook", body))
}
