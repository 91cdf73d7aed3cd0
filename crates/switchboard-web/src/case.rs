//! The case view: the contact's whole timeline across channels and past cases, what the
//! understanding step read, why the case was routed here, its SLA clocks, and every action
//! (reply, note, status, transfer, outside expert, merge, split). Actions are forms the page
//! script sends to the JSON API (`data-api`); the page itself is read-only.

use crate::page::{
    Section, Viewer, ago, badge, channel_mark, respond, sentiment_score, sentiment_tone, shell,
    status_tone,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use std::collections::HashMap;
use switchboard_core::*;
use switchboard_server::AppState;
use switchboard_store::KbKind;
use switchboard_store::{Case, CaseDetail, Message, SlaView};

/// Messages of the contact's timeline shown.
const TIMELINE: i64 = 200;

pub async fn page(State(state): State<AppState>, v: Viewer, Path(id): Path<String>) -> Response {
    let Ok(id) = CaseId::parse(&id) else {
        return crate::page::error_page(StatusCode::NOT_FOUND, "There is no such case.");
    };
    let now = state.clock.now();
    // Read first: the page's stream resumes from here, so nothing between is missed.
    let seq = state.store.last_event_seq().await.unwrap_or(0);
    let (detail, sla) = match state.store.case_at(id, now).await {
        Ok(d) => d,
        Err(e) => return crate::page::store_error(e, "case"),
    };
    let contact = match state.store.contact(detail.case.contact_id).await {
        Ok(c) => c,
        Err(e) => return crate::page::store_error(e, "contact"),
    };
    let timeline = match state
        .store
        .contact_timeline(detail.case.contact_id, None, TIMELINE)
        .await
    {
        Ok(t) => t.items,
        Err(e) => return crate::page::store_error(e, "timeline"),
    };
    let (teams, users, channels, canned, experts, purposes, intents) = match tokio::try_join!(
        state.store.list_teams(),
        state.store.list_users(),
        state.store.list_channels(),
        state.store.kb_items(KbKind::Canned, false),
        state.store.expert_links(id, now),
        state.store.purposes(),
        switchboard_server::api::models::known_intents(&state),
    ) {
        Ok(x) => x,
        Err(e) => return crate::page::store_error(e, "case"),
    };
    // Canned responses go into the reply box with their placeholders filled for this case.
    let placeholders =
        switchboard_server::answers::context_for(&state, &detail.case, Some(v.name.clone())).await;
    // Those in the customer's language (their latest message's), or in none said.
    let language = detail
        .messages
        .iter()
        .rev()
        .find(|m| m.direction == switchboard_core::Direction::Inbound)
        .and_then(|m| m.understanding.as_ref())
        .and_then(|u| u.language.clone());
    let canned: Vec<(String, String)> = canned
        .iter()
        .filter(|item| {
            match (
                item.data.get("language").and_then(|l| l.as_str()),
                &language,
            ) {
                (Some(l), Some(want)) => switchboard_core::language::same(l, want),
                _ => true,
            }
        })
        .map(|item| {
            let field = |k: &str| item.data.get(k).and_then(|t| t.as_str()).unwrap_or("");
            (
                field("name").to_owned(),
                switchboard_core::kb::render(field("text"), &placeholders),
            )
        })
        .collect();
    let users: Vec<Person> = users
        .into_iter()
        .map(|u| Person {
            // Whether a case can be handed to them: active, and not a reviewer (who only
            // approves replies).
            works: u.active && u.role != switchboard_core::Role::Reviewer,
            teams: teams
                .iter()
                .filter(|t| t.members.iter().any(|m| m.user_id == u.id))
                .map(|t| t.id.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            id: u.id,
            name: u.display_name,
        })
        .collect();
    let teams: Vec<(TeamId, String)> = teams.into_iter().map(|t| (t.id, t.name)).collect();
    let channel_kinds: HashMap<ChannelId, (String, String)> = channels
        .into_iter()
        .map(|c| (c.id, (c.kind, c.name)))
        .collect();
    let contact_name = contact
        .display_name
        .clone()
        .or_else(|| {
            contact
                .identities
                .iter()
                .find_map(|i| i.name.clone().or_else(|| i.handle.clone()))
        })
        // As the inbox names them: by their id on the channel when it is all there is.
        .or_else(|| contact.identities.first().map(|i| i.external_id.clone()))
        .unwrap_or_else(|| "Unknown".to_owned());
    let purposes = crate::page::Purposes::new(purposes);
    let ctx = Ctx {
        v: &v,
        now,
        teams: &teams,
        users: &users,
        channels: &channel_kinds,
        contact: &contact_name,
    };
    let c = &detail.case;
    let kind = channel_kinds
        .get(&c.channel_id)
        .map_or("", |k| k.0.as_str());
    let body = html! {
        div.case data-case=(c.id) data-conversation=(c.conversation_id) data-seq=(seq) {
            header.case-head {
                h1 { (channel_mark(kind)) " " (contact_name)
                    @if c.public { " " span.pub { "public" } } @else { " " span.priv { "private" } } }
                div.badges { (understanding_badges(&detail, &purposes)) }
                div #presence aria-live="polite" {}
            }
            div.case-grid {
                section.timeline aria-label="Timeline" {
                    h2 { "Timeline" }
                    p.hint { "Everything this person wrote to us, on every channel and case." }
                    ol #timeline {
                        @for m in &timeline { (message(&ctx, c, m)) }
                    }
                    @if timeline.is_empty() { p.empty { "No messages." } }
                    (composer(&ctx, &detail, &canned))
                }
                aside.side aria-label="Case details" {
                    (details(&ctx, c))
                    (actions(&ctx, c))
                    (understanding_box(&ctx, &detail, purposes.list(), &intents))
                    (sla_clocks(sla.as_ref(), now))
                    (routing_why(c, first_understood(&detail)))
                    (auto_answer(&detail))
                    (experts_box(&ctx, c, &experts.0))
                    (merge_split(&ctx, c))
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        shell(&v, Section::Inbox, &format!("Case · {contact_name}"), body),
    )
}

/// Someone a case may be transferred to, or who wrote in it.
struct Person {
    id: UserId,
    name: String,
    /// Whether a case can be handed to them.
    works: bool,
    /// Their teams' ids, space-separated (the transfer form offers them for these teams).
    teams: String,
}

struct Ctx<'a> {
    v: &'a Viewer,
    now: Timestamp,
    teams: &'a [(TeamId, String)],
    users: &'a [Person],
    channels: &'a HashMap<ChannelId, (String, String)>,
    /// What the case's contact is called (their nameless messages say it too).
    contact: &'a str,
}

impl Ctx<'_> {
    fn team(&self, id: Option<TeamId>) -> &str {
        id.and_then(|id| self.teams.iter().find(|t| t.0 == id))
            .map_or("—", |t| t.1.as_str())
    }
    fn user(&self, id: Option<UserId>) -> &str {
        id.and_then(|id| self.users.iter().find(|u| u.id == id))
            .map_or("nobody", |u| u.name.as_str())
    }
    /// Whether the viewer is in `team` (a case without a team is anyone's).
    fn member_of(&self, team: Option<TeamId>) -> bool {
        team.is_none_or(|t| {
            let t = t.to_string();
            self.users
                .iter()
                .any(|p| p.id == self.v.id && p.teams.split(' ').any(|x| x == t))
        })
    }
    fn can_work(&self) -> bool {
        self.v.can(Permission::WorkCases)
    }
}

/// One feature the model weighed, as an agent reads it: a word or phrase in quotes; what the
/// model reads in place of a link, a mention or a number, and a mark, named.
fn evidence(feature: &str) -> Markup {
    let named = match feature {
        "url" => Some("a link"),
        "@user" => Some("a mention"),
        "?" => Some("the question mark"),
        "!" => Some("the exclamation mark"),
        f if !f.is_empty() && f.chars().all(|c| c == '0') => Some("a number"),
        _ => None,
    };
    match named {
        Some(n) => html! { (n) },
        None => html! { q { (feature) } },
    }
}

/// Purpose, intent, sentiment, language and personal data of the case's first inbound
/// message, as badges.
fn understanding_badges(d: &CaseDetail, purposes: &crate::page::Purposes) -> Markup {
    let c = &d.case;
    let first = d
        .messages
        .iter()
        .find(|m| m.direction == Direction::Inbound)
        .and_then(|m| m.understanding.as_ref());
    html! {
        (badge("purpose", &purposes.name(c.purpose.as_str()), "neutral"))
        (badge("status", &c.status.as_str().replace('_', " "), status_tone(c.status.as_str())))
        (badge("priority", c.priority.as_str(), if matches!(c.priority, Priority::High | Priority::Urgent) { "warn" } else { "neutral" }))
        @if let Some(u) = first {
            @if let Some(i) = &u.intent {
                (badge("intent", &if (i.confidence >= 1.0 && i.because.is_empty()) || i.unknown.is_some() { i.label.clone() } else { format!("{} {}", i.label, percent(i.confidence)) }, "neutral"))
            }
            @if let Some(s) = &u.sentiment {
                (badge("sentiment", &if s.by_person { s.label.clone() } else { format!("{} {}", s.label, sentiment_score(s.score)) }, sentiment_tone(&s.label)))
            }
            @if let Some(l) = &u.language {
                (badge("language", &switchboard_core::language::by_code(l).map_or_else(|| l.clone(), |k| k.name.to_owned()), "neutral"))
            }
            @if !u.personal_data.is_empty() {
                @let kinds: Vec<String> = u.personal_data.iter().map(|p| match p.scheme.as_deref().and_then(switchboard_core::guard::IdScheme::by_code) {
                    Some(scheme) => scheme.name().to_owned(),
                    None => p.kind.as_str().replace('_', " "),
                }).collect();
                (badge("personal data", &kinds.join(", "), "bad"))
            }
        }
        @if c.escalated { (badge("", "escalated", "bad")) }
        @if let Some(r) = &c.resolution { (badge("resolution", r, "good")) }
        @for t in &c.tags { span.tag { "#" (t) } }
    }
}

/// Which rule made the model say `unknown`, and the label it leaned to.
fn why_unknown(w: &switchboard_core::WhyUnknown, name_of: &dyn Fn(&str) -> String) -> Markup {
    use switchboard_core::UnknownReason as R;
    let leaned = w.leaned_to.as_ref().map(|l| {
        html! { "; it leaned to " strong { (name_of(&l.label)) } " (" (percent(l.confidence)) ")" }
    });
    html! {
        span.why-unknown {
            @match w.reason {
                R::NoWords => { ": nothing to read (only links, handles, numbers or marks)" }
                R::NoKnownWords => { ": none of its words is one the model knows" }
                R::BelowFloor => {
                    ": no label reached the model's floor"
                    @if let Some(f) = w.floor { " of " (percent(f as f32)) }
                    (leaned.clone().unwrap_or_default())
                }
                R::NewWords => {
                    ": "
                    @if let (Some(n), Some(of)) = (w.new_words, w.words) {
                        (n) " of its " (of) " words are new to the model"
                    } @else {
                        "too many of its words are new to the model"
                    }
                    (leaned.clone().unwrap_or_default())
                }
                // Filtered out by the caller, which shows the confidence instead.
                R::Other => { "" }
            }
        }
    }
}

/// A model's confidence as a percentage that never rounds up to a certainty it lacks.
fn percent(c: f32) -> String {
    let p = c * 100.0;
    if (99.5..100.0).contains(&p) {
        ">99%".to_owned()
    } else {
        format!("{p:.0}%")
    }
}

/// What Switchboard understood in the first customer message, with the words that weighed
/// most, and the forms that correct it: a corrected purpose, intent or sentiment is a
/// labelled example the learning loop retrains on.
fn understanding_box(
    ctx: &Ctx,
    d: &CaseDetail,
    purposes: &[(String, String)],
    intents: &[String],
) -> Markup {
    let c = &d.case;
    let first = d
        .messages
        .iter()
        .find(|m| m.direction == Direction::Inbound && m.case_id == c.id);
    let understood = first.and_then(|m| m.understanding.as_ref());
    let sentiment = understood.and_then(|u| u.sentiment.as_ref());
    let name_of = |id: &str| {
        purposes
            .iter()
            .find(|p| p.0 == id)
            .map_or_else(|| id.replace('_', " "), |p| p.1.clone())
    };
    // A person's label has no confidence to show; a model's is never quite 100%.
    let set_by_person =
        |cl: &switchboard_core::Classification| cl.confidence >= 1.0 && cl.because.is_empty();
    // A label as its row names it: a purpose by its display name, an intent as written.
    let why = |cl: &switchboard_core::Classification, named: &dyn Fn(&str) -> String| {
        html! {
            @if set_by_person(cl) {
                " (set by a person)"
            } @else if let Some(w) = cl.unknown.as_ref().filter(|w| w.reason != switchboard_core::UnknownReason::Other) {
                (why_unknown(w, named))
            } @else {
                " " (percent(cl.confidence))
                @if !cl.because.is_empty() {
                    " because of " @for (i, e) in cl.because.iter().enumerate() {
                        @if i > 0 { ", " } (evidence(&e.feature))
                    }
                }
            }
        }
    };
    html! {
        section.box.understood #understanding {
            h2 { "Understood" }
            dl {
                dt { "Purpose" }
                dd {
                    strong { (name_of(c.purpose.as_str())) }
                    @if let Some(p) = understood.and_then(|u| u.purpose.as_ref()) {
                        br; span.hint { "The model said " (name_of(&p.label)) (why(p, &name_of)) }
                    }
                }
                dt { "Intent" }
                dd {
                    @match understood.and_then(|u| u.intent.as_ref()) {
                        Some(i) => { strong { (i.label) } (why(i, &|l: &str| l.to_owned())) }
                        None => { "—" }
                    }
                }
                dt { "Sentiment" }
                dd {
                    @match sentiment {
                        Some(s) if s.by_person => { strong { (s.label) } " (set by a person)" }
                        Some(s) => {
                            strong { (s.label) } " "
                            span title="The model's score, from −1 (most negative) to +1 (most positive)" {
                                "score " (sentiment_score(s.score))
                            }
                        }
                        None => { "—" }
                    }
                }
            }
            @if ctx.can_work() {
                p.hint { "A correction teaches Switchboard: it becomes a labelled example for the next retraining." }
                form #purpose-form data-api={"/api/v1/cases/" (c.id)} data-method="PATCH" data-after="reload" {
                    label for="correct-purpose" { "Correct the purpose" }
                    select #correct-purpose name="purpose" {
                        @for (id, name) in purposes {
                            option value=(id) selected[*id == c.purpose.as_str()] { (name) }
                        }
                    }
                    div.form-error role="alert" {}
                    button type="submit" { "Save purpose" }
                    p.hint { "The case takes the purpose (and its SLA) but keeps its team: transfer it to move it." }
                }
                @if let Some(m) = first {
                    form #intent-form data-api={"/api/v1/messages/" (m.id) "/intent"} data-after="reload" {
                        label for="correct-intent" { "Correct the intent" }
                        input #correct-intent name="label" list="intent-labels" required
                            autocomplete="off" placeholder=(if intents.is_empty() { "name what they want, e.g. opening_hours" } else { "pick or type an intent" });
                        datalist #intent-labels { @for l in intents { option value=(l) {} } }
                        @if !intents.is_empty() {
                            label.check { input type="checkbox" name="new_label" value="true" data-type="bool"; " It is a new intent" }
                        }
                        div.form-error role="alert" {}
                        button type="submit" { "Save intent" }
                    }
                    form #sentiment-form data-api={"/api/v1/messages/" (m.id) "/sentiment"} data-after="reload" {
                        label for="correct-sentiment" { "Correct the sentiment" }
                        select #correct-sentiment name="label" {
                            @for l in ["negative", "neutral", "positive"] {
                                option value=(l) selected[sentiment.is_some_and(|s| s.label == l)] { (l) }
                            }
                        }
                        div.form-error role="alert" {}
                        button type="submit" { "Save sentiment" }
                    }
                }
            }
        }
    }
}

fn message(ctx: &Ctx, case: &Case, m: &Message) -> Markup {
    let here = m.case_id == case.id;
    let (kind, channel_name) = ctx
        .channels
        .get(&m.channel_id)
        .map_or(("", ""), |(k, n)| (k.as_str(), n.as_str()));
    let who = m.author.name.clone().unwrap_or_else(|| {
        if m.author.kind == "contact" {
            ctx.contact.to_owned()
        } else {
            m.author.kind.clone()
        }
    });
    let dir = m.direction.as_str();
    html! {
        li class={"msg " (dir) @if !here { " elsewhere" }} data-message=(m.id) {
            div.msg-head {
                (channel_mark(kind))
                " " strong { (who) }
                " " span.chan { (channel_name) }
                @if m.direction == Direction::Note { " " span.note-mark { "internal note" } }
                @if !here { " " a.other href={"/cases/" (m.case_id)} { "another case" } }
                " " (ago(ctx.now, m.sent_at))
                @if here && m.direction == Direction::Inbound && ctx.can_work() {
                    label.split-pick { input type="checkbox" form="split-form" name="messages" value=(m.id);
                        span.visually-hidden { "Move this message to a new case" } }
                }
            }
            @if m.deleted_at.is_some() { p.deleted { "Deleted by the customer on the channel." } }
            div.text { (crate::personal::marked(&m.text)) }
            @if !m.attachments.is_empty() {
                ul.files { @for a in &m.attachments { li { (a.name.clone().unwrap_or_else(|| a.kind.clone())) } } }
            }
            @if m.direction == Direction::Outbound {
                div.delivery {
                    (badge("", &m.delivery_state.as_str().replace('_', " "),
                        match m.delivery_state.as_str() { "failed" | "rejected" => "bad", "delivered" | "read" | "sent" => "good", _ => "warn" }))
                    @if let Some(e) = &m.delivery_error { " " span.err { (e) } }
                    @if let Some(t) = m.review_team { @if m.delivery_state.as_str() == "pending_approval" { " waiting for " (ctx.team(Some(t))) } }
                    @if let Some(c) = &m.review_comment { " " span.err { "Rejected: " (c) } }
                }
                // The learning loop: a person's answer becomes an article or a canned response.
                @if here && m.author.kind == "user" && ctx.can_work() {
                    form.promote data-api={"/api/v1/messages/" (m.id) "/promote"} data-after="done"
                        data-done="Saved to the knowledge base." {
                        label { span.visually-hidden { "Save this answer as" }
                            select name="as" {
                                option value="article" { "as an article" }
                                option value="canned" { "as a canned response" }
                            }
                        }
                        " "
                        label { span.visually-hidden { "Title" }
                            input name="title" maxlength="200" placeholder="Title (default: the customer's question)";
                        }
                        " " button type="submit" { "Save to knowledge base" }
                        " " span.form-done role="status" {}
                        span.form-error role="alert" {}
                    }
                }
            }
        }
    }
}

fn composer(ctx: &Ctx, d: &CaseDetail, canned: &[(String, String)]) -> Markup {
    let c = &d.case;
    if !ctx.can_work() {
        return html! {};
    }
    html! {
        section.composer aria-label="Reply" {
            form #reply-form data-api={"/api/v1/cases/" (c.id) "/replies"} data-after="reload" {
                h2 { label for="reply-text" { "Reply to the customer" } }
                div.suggest #suggestions data-src={"/api/v1/cases/" (c.id) "/suggestions"} aria-live="polite" {}
                @if !canned.is_empty() {
                    label for="canned" { "Canned response" }
                    select #canned data-insert="reply-text" {
                        option value="" { "Insert a canned response…" }
                        @for (title, text) in canned {
                            option value=(text) { (title) }
                        }
                    }
                }
                textarea #reply-text name="text" rows="4" required data-typing={"/api/v1/cases/" (c.id) "/typing"} {}
                @if c.public {
                    label.check { input type="checkbox" name="private" value="true" data-type="bool";
                        " Answer privately (a direct message instead of a public reply)" }
                }
                @if c.approval_team.is_some() {
                    p.hint { "Replies on this case wait for " (ctx.team(c.approval_team)) " to approve them." }
                }
                div.form-error role="alert" {}
                button.primary type="submit" { "Send reply" }
            }
            form #note-form data-api={"/api/v1/cases/" (c.id) "/notes"} data-after="reload" {
                h2 { label for="note-text" { "Internal note" } }
                textarea #note-text name="text" rows="2" required placeholder="Only your colleagues see this. @username notifies someone." {}
                div.form-error role="alert" {}
                button type="submit" { "Add note" }
            }
        }
    }
}

fn details(ctx: &Ctx, c: &Case) -> Markup {
    html! {
        section.box {
            h2 { "Case" }
            dl {
                dt { "Team" } dd { (ctx.team(c.team)) }
                dt { "Assignee" } dd { (ctx.user(c.assignee)) }
                dt { "Opened" } dd { (ago(ctx.now, c.created_at)) }
                @if let Some(t) = c.first_response_at { dt { "First response" } dd { (ago(ctx.now, t)) } }
                @if c.reopen_count > 0 { dt { "Reopened" } dd { (c.reopen_count) " times" } }
                dt { "Case id" } dd { code { (c.id) } }
            }
        }
    }
}

fn actions(ctx: &Ctx, c: &Case) -> Markup {
    if !ctx.can_work() {
        return html! {};
    }
    let api = format!("/api/v1/cases/{}", c.id);
    html! {
        section.box.actions {
            h2 { "Actions" }
            div.buttons {
                @if c.status.is_active() {
                    form data-api=(api) data-method="PATCH" data-after="reload" {
                        input type="hidden" name="status" value="resolved";
                        button #resolve type="submit" { "Resolve (e)" }
                    }
                    @if c.status != CaseStatus::Pending {
                        form data-api=(api) data-method="PATCH" data-after="reload" {
                            input type="hidden" name="status" value="pending";
                            button type="submit" { "Wait for customer" }
                        }
                    }
                } @else if c.status == CaseStatus::Resolved {
                    form data-api=(api) data-method="PATCH" data-after="reload" {
                        input type="hidden" name="status" value="open";
                        button type="submit" { "Reopen" }
                    }
                }
                @if c.assignee != Some(ctx.v.id) {
                    // A case is worked in its team (the API refuses others).
                    @if ctx.member_of(c.team) {
                        form data-api=(api) data-method="PATCH" data-after="reload" {
                            input type="hidden" name="assignee" value=(ctx.v.id);
                            button type="submit" { "Take it" }
                        }
                    } @else {
                        span.hint { "Not your team's case: transfer it to yourself with your team." }
                    }
                }
            }
            div.form-error role="alert" {}
            details #transfer {
                summary { "Transfer (t)" }
                form #transfer-form data-api={(api) "/transfer"} data-after="reload" {
                    label for="transfer-team" { "Team" }
                    select #transfer-team name="team" data-current=[c.team] {
                        option value="" { "Keep the team" }
                        @for (id, name) in ctx.teams {
                            // A team of reviewers only (or of nobody) would hold the case with
                            // no one to answer it: say so before it is chosen.
                            @let staffed = ctx.users.iter().any(|p| p.works && p.teams.split(' ').any(|t| t == id.to_string()));
                            option value=(id) { (name) @if !staffed { " (no one here answers cases)" } }
                        }
                    }
                    label for="transfer-person" { "Person" }
                    select #transfer-person name="assignee" {
                        option value="" { "Anyone (the team's strategy picks)" }
                        // Those of the chosen team (app.js hides the others); a case outside
                        // its team would be worked apart from the team's queue and SLA.
                        @for p in ctx.users { @if p.works { option value=(p.id) data-teams=(p.teams) { (p.name) } } }
                    }
                    label for="transfer-reason" { "Reason" }
                    input #transfer-reason name="reason" required;
                    div.form-error role="alert" {}
                    button.primary type="submit" { "Transfer" }
                }
                form #expert-form data-api={(api) "/experts"} data-after="expert" {
                    h3 { "Ask an outside expert" }
                    label for="expert-email" { "Their e-mail" }
                    input #expert-email name="email" type="email" required;
                    label for="expert-name" { "Name (optional)" }
                    input #expert-name name="name";
                    label for="expert-question" { "Question" }
                    textarea #expert-question name="question" rows="2" required {}
                    div.form-error role="alert" {}
                    button type="submit" { "Send the link" }
                    p.hint { "Without a mail relay the link is shown here: pass it on yourself." }
                    div.form-done #expert-result role="status" {}
                }
            }
        }
    }
}

fn sla_clocks(sla: Option<&SlaView>, now: Timestamp) -> Markup {
    let Some(sla) = sla else {
        return html! {};
    };
    html! {
        section.box.sla {
            h2 { "SLA · " (sla.policy) }
            ul {
                @for t in &sla.targets {
                    @let st = t.status.as_str();
                    li class={"clock " (st)} {
                        span { (t.target.as_str().replace('_', " ")) }
                        @if let Some(met) = t.met_at {
                            " " span { "met " (ago(now, met)) }
                        } @else {
                            " " span.due data-due=(t.due_at.to_rfc3339()) { "due " (t.due_at.to_rfc3339()) }
                        }
                        " " (badge("", &st.replace('_', " "), match st { "breached" => "bad", "warning" => "warn", _ => "good" }))
                    }
                }
            }
        }
    }
}

/// What was understood of the case's first customer message.
fn first_understood(d: &CaseDetail) -> Option<&switchboard_core::Understood> {
    d.messages
        .iter()
        .find(|m| m.direction == switchboard_core::Direction::Inbound)
        .and_then(|m| m.understanding.as_ref())
}

/// The rules that fired and where the case landed, from the stored routing record; when the
/// purpose model could not tell (`unknown`), that the case started as Tier 1 by default.
fn routing_why(c: &Case, understood: Option<&switchboard_core::Understood>) -> Markup {
    let unsure = understood
        .and_then(|u| u.purpose.as_ref())
        .is_some_and(|p| p.label == "unknown");
    let Some(r) = &c.routing else {
        return html! { section.box { h2 { "Why here" } p { "No playbook was active when this case opened." } } };
    };
    let fired = r
        .get("fired")
        .and_then(|f| f.as_array())
        .cloned()
        .unwrap_or_default();
    let notes = r
        .get("notes")
        .and_then(|n| n.as_array())
        .cloned()
        .unwrap_or_default();
    html! {
        section.box.why {
            h2 { "Why here" }
            @if let Some(v) = r.get("playbook_version") { p.hint { "Playbook version " (v) } }
            @if fired.is_empty() { p { "No rule matched; the defaults applied." } }
            ol {
                @for f in &fired {
                    li {
                        strong { (f.get("rule").and_then(|x| x.as_str()).unwrap_or("rule")) }
                        @if let Some(l) = f.get("line") { " (line " (l) ")" }
                        @if let Some(reasons) = f.get("reasons").and_then(|x| x.as_array()) {
                            ul { @for reason in reasons { li { (reason.as_str().map_or_else(|| reason.to_string(), str::to_owned)) } } }
                        }
                    }
                }
            }
            @for n in &notes { p.hint { (n.as_str().map_or_else(|| n.to_string(), str::to_owned)) } }
            @if unsure {
                p.hint { "The purpose model could not tell what this message is about (unknown), so no "
                    "rule on purposes matched it and it started as Tier 1, the default." }
            }
        }
    }
}

fn auto_answer(d: &CaseDetail) -> Markup {
    let Some(a) = &d.auto_answer else {
        return html! {};
    };
    let v = serde_json::to_value(a).unwrap_or_default();
    let get = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
    // Rounded down: 0.297 against 0.3 reads 29%, not 30% and "not enough".
    let percent = |x: f64| format!("{:.0}%", (x * 100.0).floor());
    html! {
        section.box {
            h2 { "Automatic answer" }
            p { (badge("", &get("state"), "neutral")) " " (get("reason").replace('_', " ")) }
            // Which article, how sure, against what the playbook asks: why it answered or not.
            @if let Some(c) = a.confidence {
                p.hint {
                    @if let Some(id) = &a.article_id {
                        a href={"/knowledge#kb-" (id)} { "The article" } " (its answer is in the timeline)"
                    } @else { "The best article" }
                    " scored " (percent(c)) " (how much of the question it covers, or the intent model's confidence); the playbook asks for "
                    (percent(a.policy.min_confidence())) "."
                }
            }
        }
    }
}

fn experts_box(ctx: &Ctx, c: &Case, links: &[switchboard_store::ExpertLink]) -> Markup {
    if links.is_empty() {
        return html! {};
    }
    html! {
        section.box {
            h2 { "Outside experts" }
            ul {
                @for l in links {
                    li { (l.name.clone().unwrap_or_else(|| l.email.clone())) " "
                        (badge("", l.state, if l.state == "answered" { "good" } else { "warn" }))
                        " asked " (ago(ctx.now, l.created_at))
                        @if l.state == "waiting" && ctx.can_work() {
                            form data-api={"/api/v1/cases/" (c.id) "/experts/" (l.id) "/revoke"} data-after="reload" {
                                button.link type="submit" { "Revoke" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn merge_split(ctx: &Ctx, c: &Case) -> Markup {
    if !ctx.can_work() || !c.status.is_active() {
        return html! {};
    }
    html! {
        details.box #merge-split {
            summary { "Merge or split" }
            form #merge-form data-api={"/api/v1/cases/" (c.id) "/merge"} data-after="reload" {
                label for="merge-cases" { "Case ids to merge into this one (comma-separated)" }
                input #merge-cases name="cases" data-type="list" required;
                div.form-error role="alert" {}
                button type="submit" { "Merge" }
            }
            form #split-form data-api={"/api/v1/cases/" (c.id) "/split"} data-after="open" {
                p.hint { "Tick messages in the timeline to move them to a new case." }
                input type="hidden" name="messages" data-type="list-checked" value="";
                div.form-error role="alert" {}
                button type="submit" { "Split" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::{Leaning, UnknownReason, WhyUnknown};

    fn said(w: WhyUnknown) -> String {
        why_unknown(&w, &|l: &str| l.replace('_', " ")).into_string()
    }

    /// An `unknown` names its rule and the label the model leaned to, by the row's names.
    #[test]
    fn an_unknown_says_which_rule_and_what_it_leaned_to() {
        let leaned_to = Some(Leaning {
            label: "card_declined".into(),
            confidence: 0.28,
        });
        let below = said(WhyUnknown {
            reason: UnknownReason::BelowFloor,
            leaned_to: leaned_to.clone(),
            floor: Some(0.3),
            words: None,
            new_words: None,
        });
        assert!(
            below.contains("no label reached the model's floor of 30%; it leaned to <strong>card declined</strong> (28%)"),
            "{below}"
        );
        let new = said(WhyUnknown {
            reason: UnknownReason::NewWords,
            leaned_to,
            floor: None,
            words: Some(8),
            new_words: Some(5),
        });
        assert!(
            new.contains(
                "5 of its 8 words are new to the model; it leaned to <strong>card declined</strong>"
            ),
            "{new}"
        );
        let nothing = said(WhyUnknown {
            reason: UnknownReason::NoKnownWords,
            leaned_to: None,
            floor: None,
            words: None,
            new_words: None,
        });
        assert!(
            nothing.contains("none of its words is one the model knows"),
            "{nothing}"
        );
        assert!(!nothing.contains("leaned"), "{nothing}");
    }
}
