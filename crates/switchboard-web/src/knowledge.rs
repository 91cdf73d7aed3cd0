//! The knowledge base as agents see it: articles and canned responses, written, edited,
//! archived and restored here (through the same API the CLI's import uses), with their
//! versions, and the questions no article answers yet.

use crate::page::{Section, Viewer, ago, respond, shell};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;
use switchboard_core::Permission;
use switchboard_server::AppState;
use switchboard_store::{KbItem, KbKind};

pub async fn page(State(state): State<AppState>, v: Viewer) -> Response {
    let (articles, canned) = match tokio::try_join!(
        state.store.kb_items(KbKind::Article, true),
        state.store.kb_items(KbKind::Canned, true)
    ) {
        Ok(x) => x,
        Err(e) => return crate::page::store_error(e, "knowledge base"),
    };
    let (archived_articles, articles): (Vec<KbItem>, Vec<KbItem>) =
        articles.into_iter().partition(|i| i.archived_at.is_some());
    let (archived_canned, canned): (Vec<KbItem>, Vec<KbItem>) =
        canned.into_iter().partition(|i| i.archived_at.is_some());
    let now = state.clock.now();
    let edit = v.can(Permission::WorkCases);
    // Tier 1's questions of the last 30 days no article answers well, most asked first.
    let gaps = if edit {
        match switchboard_server::api::kb::gap_report(
            &state,
            30,
            Some("tier1".into()),
            switchboard_server::api::kb::GAP_FLOOR,
        )
        .await
        {
            Ok(r) => r["gaps"].as_array().cloned().unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e.detail, "reading knowledge gaps");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let body = html! {
        h1 { "Knowledge" }
        @if !gaps.is_empty() {
            section #gaps {
                h2 { "Questions without a good answer " span.count { (gaps.len()) } }
                p.hint { "Tier 1's customers asked these in the last 30 days, and no article answered them well. Write the answer once; it is suggested (or sent, where the playbook says so) from then on." }
                ul.kb {
                    @for g in gaps.iter().take(10) {
                        @let examples: Vec<&str> = g["examples"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                        li {
                            strong { (examples.first().copied().unwrap_or("")) }
                            " " span.hint { (g["count"]) " asked"
                                @if let Some(t) = g["closest"]["title"].as_str() { "; closest article: " (t) } }
                            @if examples.len() > 1 { div.text { "Also asked as: " @for e in &examples[1..] { "“" (e) "” " } } }
                            div { button.link type="button" data-write-article=(draft_of(&examples))
                                data-language=(g["language"].as_str().unwrap_or("")) { "Write the answer" } }
                        }
                    }
                }
            }
        }
        section {
            h2 { "Articles " span.count { (articles.len()) } }
            @if edit {
                details #new-article-box {
                    summary { "New article" }
                    (article_form("new-article", None))
                }
            }
            ul.kb {
                @for a in &articles {
                    li id={"kb-" (a.id)} { details {
                        summary { strong { (text(&a.data, "title")) } " "
                            @if a.data.get("public").and_then(Value::as_bool) == Some(false) { span.priv { "internal" } }
                            @if let Some(l) = a.data.get("language").and_then(Value::as_str) { " " span.hint { (language_name(l)) } }
                            " " span.hint { "v" (a.version) ", " (ago(now, a.updated_at)) } }
                        // As a customer reads it (Markdown marks taken out); the edit form
                        // holds the Markdown.
                        div.text { (switchboard_core::kb::plain_text(&text(&a.data, "body"))) }
                        (article_facts(&a.data))
                        @if edit {
                            details.edit {
                                summary { "Edit" }
                                (article_form(&format!("edit-{}", a.id), Some(a)))
                            }
                            (archive_form("articles", a))
                        }
                    } }
                }
            }
        }
        section {
            h2 { "Canned responses " span.count { (canned.len()) } }
            @if edit {
                details #new-canned-box {
                    summary { "New canned response" }
                    (canned_form("new-canned", None))
                }
            }
            ul.kb {
                @for c in &canned {
                    li id={"kb-" (c.id)} {
                        strong { (text(&c.data, "name")) } div.text { (text(&c.data, "text")) }
                        @if edit {
                            details.edit {
                                summary { "Edit" }
                                (canned_form(&format!("edit-{}", c.id), Some(c)))
                            }
                            (archive_form("canned", c))
                        }
                    }
                }
            }
        }
    };
    let body = html! {
        (body)
        @if edit { (import_export()) }
        @if edit && !(archived_articles.is_empty() && archived_canned.is_empty()) {
            section {
                details #archived {
                    summary { "Archived " span.count { (archived_articles.len() + archived_canned.len()) } }
                    p.hint { "Kept with their history; not listed above or suggested. Restore brings one back as it was." }
                    ul.kb {
                        @for (kind, i) in archived_articles.iter().map(|i| ("articles", i)).chain(archived_canned.iter().map(|i| ("canned", i))) {
                            li {
                                strong { (text(&i.data, "title")) (text(&i.data, "name")) }
                                " " span.hint { @if kind == "canned" { "canned response, " } "v" (i.version) ", archived " (ago(now, i.archived_at.unwrap_or(i.updated_at))) }
                                form.inline data-api={"/api/v1/kb/" (kind) "/" (i.id) "/restore"} data-after="reload" {
                                    button.link type="submit" { "Restore" }
                                    span.form-error role="alert" {}
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        shell(&v, Section::Knowledge, "Knowledge", body),
    )
}

/// Bring entries in from a file (as new entries, all or none), and take every entry out.
fn import_export() -> Markup {
    html! {
        section #kb-import {
            h2 { "Import and export" }
            form.upload #kb-import-form data-upload="/api/v1/kb/import" data-after="kb" data-again="Show them"
                data-max-bytes=(switchboard_server::api::kb::MAX_IMPORT) data-busy="Importing…" {
                p.hint { "A file of articles and canned responses: CSV with a header row (a " code { "type" } " column says " code { "article" } " or " code { "canned" } "; "
                    code { "title" } ", " code { "body" } ", " code { "name" } ", " code { "text" } ", " code { "language" } ", " code { "purpose" } ", " code { "team_id" } ", " code { "public" } ", " code { "valid_from" } ", " code { "valid_until" } ", and " code { "tags" } ", " code { "questions" } ", " code { "intents" } " with items separated by " code { "|" } "), or JSON Lines as the export writes it. Every entry is added as a new one, except one already here word for word or earlier in the file (so an export imported again adds nothing; an archived entry is brought back as a new one); if any line is wrong, nothing is imported and the wrong lines are named." }
                p { label for="kb-import-file" { "File (.csv or .jsonl; at most " (switchboard_server::api::kb::MAX_IMPORT >> 20) " MB)" } br;
                    input #kb-import-file type="file" name="file" required accept=".csv,.jsonl,.ndjson,.txt,text/csv,application/x-ndjson"; }
                p { label for="kb-import-format" { "Format " }
                    select #kb-import-format name="format" {
                        option value="" { "as the file's first line shows" }
                        option value="csv" { "CSV" }
                        option value="jsonl" { "JSON Lines" }
                    } }
                button.primary type="submit" { "Import the file" }
                div.form-error role="alert" {}
                p.form-done role="status" {}
            }
            p { "Export every entry that is not archived: "
                a href="/api/v1/kb/export?format=csv" download="knowledge.csv" { "CSV" } " · "
                a href="/api/v1/kb/export" download="knowledge.jsonl" { "JSON Lines" } }
        }
    }
}

/// What the page does not show elsewhere: other phrasings, intents, tags, language, dates.
fn article_facts(d: &Value) -> Markup {
    let list = |k: &str| strings(d, k).join(", ");
    let date = |k: &str| {
        d.get(k)
            .and_then(Value::as_str)
            .map(|t| t.get(..10).unwrap_or(t).to_owned())
    };
    html! {
        dl.facts {
            @if !strings(d, "questions").is_empty() { dt { "Also asked as" } dd { (strings(d, "questions").join(" · ")) } }
            @if !list("intents").is_empty() { dt { "Intents" } dd { (list("intents")) } }
            @if !list("tags").is_empty() { dt { "Tags" } dd { (list("tags")) } }
            @if !text(d, "language").is_empty() { dt { "Language" } dd { (language_name(&text(d, "language"))) } }
            @if !text(d, "purpose").is_empty() { dt { "Purpose" } dd { (text(d, "purpose")) } }
            @if let Some(f) = date("valid_from") { dt { "In force from" } dd { (f) } }
            @if let Some(u) = date("valid_until") { dt { "In force until" } dd { (u) } }
        }
    }
}

/// A gap's examples as the new article's title and other phrasings (a JSON array): on one
/// line each, cut to what an article takes.
fn draft_of(examples: &[&str]) -> String {
    let fit = |s: &str, max: usize| -> String {
        let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
        match one_line.char_indices().nth(max) {
            Some((cut, _)) => one_line[..cut].to_owned(),
            None => one_line,
        }
    };
    let draft: Vec<String> = examples
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let max = if i == 0 {
                switchboard_core::kb::MAX_TITLE
            } else {
                switchboard_core::kb::MAX_LIST_ITEM
            };
            fit(e, max)
        })
        .collect();
    serde_json::to_string(&draft).unwrap_or_default()
}

fn text(d: &Value, k: &str) -> String {
    d.get(k).and_then(Value::as_str).unwrap_or("").to_owned()
}

fn strings(d: &Value, k: &str) -> Vec<String> {
    d.get(k)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Where the form sends: a new entry is POSTed; an edit PUTs the whole document with the
/// version it started from, so a colleague's save in between is a conflict, not lost.
fn target(kind: &str, item: Option<&KbItem>) -> (String, &'static str) {
    match item {
        Some(i) => (format!("/api/v1/kb/{kind}/{}", i.id), "PUT"),
        None => (format!("/api/v1/kb/{kind}"), "POST"),
    }
}

/// The document's fields the form does not show, sent back as they are (a PUT replaces the
/// whole document).
fn kept(item: Option<&KbItem>, fields: &[&str]) -> Markup {
    html! {
        @if let Some(i) = item {
            input type="hidden" name="version" data-type="json" value=(i.version);
            @for f in fields {
                @if let Some(v) = i.data.get(*f).filter(|v| !v.is_null()) {
                    input type="hidden" name=(f) data-type="json" value=(v.to_string());
                }
            }
        }
    }
}

fn article_form(id: &str, item: Option<&KbItem>) -> Markup {
    let (api, method) = target("articles", item);
    let d = item.map_or(Value::Null, |i| i.data.clone());
    let public = d.get("public").and_then(Value::as_bool).unwrap_or(true);
    html! {
        form.kb-form id=(id) data-api=(api) data-method=(method) data-after="reload" {
            (kept(item, &["purpose", "team_id", "valid_from", "valid_until", "intents"]))
            label for={(id) "-title"} { "Title" }
            input id={(id) "-title"} name="title" required maxlength="200" value=(text(&d, "title"));
            label for={(id) "-body"} { "Answer" }
            textarea id={(id) "-body"} name="body" rows="6" required { (text(&d, "body")) }
            label for={(id) "-questions"} { "Other ways people ask it (one a line; they help find it)" }
            textarea id={(id) "-questions"} name="questions" rows="3" data-type="lines" { (strings(&d, "questions").join("\n")) }
            label for={(id) "-tags"} { "Tags (comma-separated)" }
            input id={(id) "-tags"} name="tags" data-type="list" value=(strings(&d, "tags").join(", "));
            label for={(id) "-public"} { "Who may see it" }
            select id={(id) "-public"} name="public" data-type="json" {
                option value="true" selected[public] { "Public: may be sent to customers" }
                option value="false" selected[!public] { "Internal: agents only" }
            }
            label for={(id) "-language"} { "Language (suggested only for messages in it)" }
            (language_select(&format!("{id}-language"), &text(&d, "language")))
            div.form-error role="alert" {}
            button.primary type="submit" { @if item.is_some() { "Save" } @else { "Add the article" } }
        }
    }
}

/// "Spanish (es)" for `es`; a code outside the list as it is.
fn language_name(code: &str) -> String {
    switchboard_core::language::by_code(code)
        .map_or_else(|| code.to_owned(), |k| format!("{} ({})", k.name, k.code))
}

/// The languages detection names, by name; an article stored with a code outside them (before
/// codes were checked) keeps it as an option, so saving it does not change it unseen.
fn language_select(id: &str, current: &str) -> Markup {
    let mut known = switchboard_core::language::KNOWN.to_vec();
    known.sort_by_key(|k| k.name);
    html! {
        select id=(id) name="language" {
            option value="" selected[current.is_empty()] { "Any language" }
            @if !current.is_empty() && !known.iter().any(|k| k.code == current) {
                option value=(current) selected { (current) }
            }
            @for k in known {
                option value=(k.code) selected[k.code == current] { (k.name) " (" (k.code) ")" }
            }
        }
    }
}

fn canned_form(id: &str, item: Option<&KbItem>) -> Markup {
    let (api, method) = target("canned", item);
    let d = item.map_or(Value::Null, |i| i.data.clone());
    html! {
        form.kb-form id=(id) data-api=(api) data-method=(method) data-after="reload" {
            (kept(item, &["team_id"]))
            label for={(id) "-name"} { "Name (how agents find it)" }
            input id={(id) "-name"} name="name" required maxlength="100" value=(text(&d, "name"));
            label for={(id) "-text"} { "Reply (filled in for each case: "
                @for (i, p) in switchboard_core::kb::PLACEHOLDERS.iter().enumerate() { @if i > 0 { ", " } code { "{{" (p) "}}" } } ")" }
            textarea id={(id) "-text"} name="text" rows="4" required { (text(&d, "text")) }
            label for={(id) "-tags"} { "Tags (comma-separated)" }
            input id={(id) "-tags"} name="tags" data-type="list" value=(strings(&d, "tags").join(", "));
            label for={(id) "-language"} { "Language (offered only on cases in it)" }
            (language_select(&format!("{id}-language"), &text(&d, "language")))
            div.form-error role="alert" {}
            button.primary type="submit" { @if item.is_some() { "Save" } @else { "Add the response" } }
        }
    }
}

/// Archiving keeps the entry with its history; it is no longer listed or suggested.
fn archive_form(kind: &str, item: &KbItem) -> Markup {
    html! {
        form.inline data-api={"/api/v1/kb/" (kind) "/" (item.id)} data-method="DELETE" data-after="reload" {
            button.link type="submit" data-confirm="Archive this entry? It is kept with its history but no longer listed or suggested." { "Archive" }
            span.form-error role="alert" {}
        }
    }
}
