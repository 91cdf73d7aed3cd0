//! The durable ingest path: raw events are appended (deduplicated on channel + external id)
//! and acknowledged; later each is turned into a message on a case: contact resolved or
//! created, conversation threaded, case attached or opened. Both steps are idempotent, so a
//! raw event processed twice (after a crash) yields one message.

use crate::cases::case_by_id;
use crate::journal::{PendingEvent, audit, bad, emit_many};
use crate::routing::{self, ActivePlaybook};
use crate::sql::{Backend, Conn};
use crate::{
    Actor, Appended, Case, IngestItem, IngestReport, Message, RawEvent, Store, StoreError, params,
};
use serde_json::json;
use switchboard_core::case::OnInbound;
use switchboard_core::*;

impl Store {
    /// Stores a raw event durably. Returns once it is committed, or `Duplicate` if an event with
    /// the same (channel, external id) was stored before: then nothing is written.
    pub async fn append_raw(&self, ev: RawEvent) -> Result<Appended, StoreError> {
        self.appender.append(ev).await
    }

    /// Raw events not yet processed, oldest first, after `after`.
    pub async fn pending_raw(
        &self,
        after: Option<RawEventId>,
        limit: i64,
    ) -> Result<Vec<RawEvent>, StoreError> {
        self.pool
            .read(move |c| {
                let after = after
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| uuid::Uuid::nil().to_string());
                c.query(
                    "SELECT id, channel_id, external_id, body, received_at FROM raw_events \
                     WHERE processed_at IS NULL AND id > $1 ORDER BY id LIMIT $2",
                    params![after, limit],
                )?
                .iter()
                .map(|r| {
                    Ok(RawEvent {
                        id: RawEventId::parse(&r.text(0)?).map_err(bad)?,
                        channel_id: ChannelId::parse(&r.text(1)?).map_err(bad)?,
                        external_id: r.opt_text(2)?,
                        body: r.blob(3)?,
                        received_at: Timestamp::from_unix_micros(r.int(4)?),
                    })
                })
                .collect()
            })
            .await
    }

    /// The body of the raw event a channel received under this external id (for e-mail:
    /// `mid:<Message-ID>`), if it is still stored.
    pub async fn raw_body(
        &self,
        channel: ChannelId,
        external_id: String,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.pool
            .read(move |c| {
                c.query_opt(
                    "SELECT body FROM raw_events WHERE channel_id = $1 AND external_id = $2",
                    params![channel.to_string(), external_id],
                )?
                .map(|r| r.blob(0))
                .transpose()
            })
            .await
    }

    /// Where a channel's IMAP fetch stands: (mailbox, UIDVALIDITY, last UID stored).
    pub async fn imap_cursor(
        &self,
        channel: ChannelId,
    ) -> Result<Option<(String, u32, u32)>, StoreError> {
        self.pool
            .read(move |c| {
                c.query_opt(
                    "SELECT mailbox, uidvalidity, last_uid FROM imap_cursors WHERE channel_id = $1",
                    params![channel.to_string()],
                )?
                .map(|r| Ok((r.text(0)?, r.int(1)? as u32, r.int(2)? as u32)))
                .transpose()
            })
            .await
    }

    /// Records that every message up to `last_uid` of `mailbox` (at `uidvalidity`) is stored.
    pub async fn set_imap_cursor(
        &self,
        channel: ChannelId,
        mailbox: String,
        uidvalidity: u32,
        last_uid: u32,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.pool
            .write(move |c| {
                c.execute(
                    "INSERT INTO imap_cursors (channel_id, mailbox, uidvalidity, last_uid, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (channel_id) DO UPDATE SET mailbox = excluded.mailbox, \
                     uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid, updated_at = excluded.updated_at",
                    params![
                        channel.to_string(),
                        mailbox,
                        uidvalidity as i64,
                        last_uid as i64,
                        now.as_unix_micros()
                    ],
                )?;
                Ok(())
            })
            .await
    }

    /// Counts raw events not yet processed.
    pub async fn pending_raw_count(&self) -> Result<i64, StoreError> {
        self.pool
            .read(|c| {
                c.query_one(
                    "SELECT COUNT(*) FROM raw_events WHERE processed_at IS NULL",
                    &[],
                )?
                .int(0)
            })
            .await
    }

    /// Turns parsed raw events into messages on cases, in one transaction, and marks them
    /// processed. An item that fails is rolled back alone and marked with its error; its raw
    /// body stays for replay.
    /// How many [`Store::ingest_on`] lanes may run at once (1 on SQLite).
    pub fn ingest_lanes(&self) -> usize {
        self.pool.lane_count()
    }

    /// [`Store::ingest_on`] lane 0.
    pub async fn ingest(
        &self,
        items: Vec<IngestItem>,
        now: Timestamp,
    ) -> Result<IngestReport, StoreError> {
        self.ingest_on(0, items, now).await
    }

    /// Turns parsed raw events into messages on cases, in one transaction, and marks them
    /// processed. An item that fails is rolled back alone and marked with its error; its raw
    /// body stays for replay. Lanes run in parallel on PostgreSQL: callers keep each
    /// conversation on one lane; an item that collides with another lane (the same new author
    /// at once) is retried.
    pub async fn ingest_on(
        &self,
        lane: usize,
        items: Vec<IngestItem>,
        now: Timestamp,
    ) -> Result<IngestReport, StoreError> {
        let playbooks = self.playbooks.clone();
        let known = self.known_words.clone();
        let (report, words) = self
            .pool
            .write_on(lane, move |c| {
                // Routing must not stop messages from being stored: if the playbook cannot be
                // read, cases open unrouted (in the front desk's view) and the error is logged.
                let active = playbooks.current(c).unwrap_or_else(|e| {
                    tracing::error!(error = %e, "the active playbook cannot be read; new cases stay unrouted");
                    None
                });
                let active = active.as_deref();
                // Fast path: the whole batch under one savepoint (SQLite journals each page once
                // per savepoint, so one per item is costly). If any item fails, undo the batch
                // and do it again with one savepoint per item, so the failure stays alone.
                c.batch("SAVEPOINT batch")?;
                let report = match ingest_items(c, &items, now, false, active) {
                    Ok(report) => {
                        c.batch("RELEASE batch")?;
                        report
                    }
                    Err(_) => {
                        c.batch("ROLLBACK TO batch; RELEASE batch")?;
                        ingest_items(c, &items, now, true, active)?
                    }
                };
                // The batch's new words, for typo tolerance in search.
                let words = known.unknown(items.iter().flat_map(|i| {
                    i.parsed.as_deref().unwrap_or_default().iter().filter_map(|e| match e {
                        ChannelEvent::Message(m) => Some(m.text.as_str()),
                        _ => None,
                    })
                }));
                crate::search::remember_words(c, &words)?;
                Ok((report, words))
            })
            .await?;
        // Committed: no need to write them again.
        self.known_words.add(words);
        Ok(report)
    }
}

/// Ingests `items` in the current transaction. With `isolate`, each item runs in its own
/// savepoint and a failing item is rolled back and recorded alone; without it, the first
/// failure is returned (the caller undoes the batch and retries with `isolate`).
fn ingest_items(
    c: &mut dyn Conn,
    items: &[IngestItem],
    now: Timestamp,
    isolate: bool,
    active: Option<&ActivePlaybook>,
) -> Result<IngestReport, StoreError> {
    let mut report = IngestReport::default();
    let mut pending = Vec::new();
    // Each message gets its own microsecond, so messages stored together keep their order
    // (ids and times sort the way they arrived).
    let mut tick = 0i64;
    for item in items {
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            if isolate {
                c.batch("SAVEPOINT item")?;
            }
            // Counted apart and added only if the item commits.
            let mut part = IngestReport::default();
            let mut part_events = Vec::new();
            let result = match &item.parsed {
                Ok(evs) => evs.iter().enumerate().try_for_each(|(i, ev)| {
                    let at = now.plus_micros(tick);
                    tick += 1;
                    match ev {
                        ChannelEvent::Message(m) => ingest_one(
                            c,
                            item,
                            m,
                            item.understood.get(i),
                            at,
                            active,
                            &mut part,
                            &mut part_events,
                        ),
                        other => crate::provider_events::ingest_event(
                            c,
                            item,
                            other,
                            at,
                            &mut part,
                            &mut part_events,
                        ),
                    }
                }),
                Err(reason) => {
                    report.failed += 1;
                    if isolate {
                        c.batch("RELEASE item")?;
                    }
                    break format!("error: {reason}");
                }
            };
            match result {
                Ok(()) => {
                    if isolate {
                        c.batch("RELEASE item")?;
                    }
                    report.messages += part.messages;
                    report.duplicates += part.duplicates;
                    report.cases_opened += part.cases_opened;
                    report.auto_answers += part.auto_answers;
                    report.updates += part.updates;
                    report.ignored += part.ignored;
                    pending.append(&mut part_events);
                    break "ok".to_owned();
                }
                Err(e) if !isolate => return Err(e),
                // Another lane stored the same new author first, or held a row this item
                // needed: try the item again.
                Err(StoreError::Conflict(_) | StoreError::Contention(_)) if attempt < 3 => {
                    c.batch("ROLLBACK TO item; RELEASE item")?;
                }
                // Still deadlocked with another lane (PostgreSQL): never record a valid event
                // as failed for that. The whole batch is undone and the lane tries it again.
                // (A constraint the item itself breaks is a failure of that item, below.)
                Err(e @ StoreError::Contention(_)) => {
                    c.batch("ROLLBACK TO item; RELEASE item")?;
                    return Err(e);
                }
                Err(e) => {
                    c.batch("ROLLBACK TO item; RELEASE item")?;
                    report.failed += 1;
                    tracing::warn!(raw_event = %item.raw_id, error = %e, "raw event could not be processed");
                    break format!("error: {e}");
                }
            }
        };
        c.execute(
            "UPDATE raw_events SET processed_at = $1, outcome = $2 WHERE id = $3",
            params![now.as_unix_micros(), outcome, item.raw_id.to_string()],
        )?;
    }
    report.events = emit_many(c, pending)?;
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
fn ingest_one(
    c: &mut dyn Conn,
    item: &IngestItem,
    m: &InboundMessage,
    understood: Option<&Understood>,
    now: Timestamp,
    active: Option<&ActivePlaybook>,
    report: &mut IngestReport,
    events: &mut Vec<PendingEvent>,
) -> Result<(), StoreError> {
    if m.text.contains('\0') || m.external_id.contains('\0') || m.thread.contains('\0') {
        // PostgreSQL cannot store U+0000 in text; refuse it on every backend alike.
        return Err(StoreError::Invalid(
            "the message contains a NUL character".into(),
        ));
    }
    let channel = item.channel_id.to_string();
    if c.query_opt(
        "SELECT 1 FROM messages WHERE channel_id = $1 AND external_id = $2",
        params![channel.as_str(), m.external_id.as_str()],
    )?
    .is_some()
    {
        report.duplicates += 1;
        return Ok(());
    }
    let display = m.author.name.clone().or_else(|| m.author.handle.clone());

    // Contact: identity = (channel, the author's id there).
    let contact = match c.query_opt(
        "SELECT contact_id, name, handle, followers, verified FROM identities WHERE channel_id = $1 AND external_id = $2",
        params![channel.as_str(), m.author.external_id.as_str()],
    )? {
        Some(r) => {
            let id = ContactId::parse(&r.text(0)?).map_err(bad)?;
            let (name, handle) = (r.opt_text(1)?, r.opt_text(2)?);
            let new_name = m.author.name.clone().or(name.clone());
            let new_handle = m.author.handle.clone().or(handle.clone());
            if new_name != name || new_handle != handle {
                c.execute(
                    "UPDATE identities SET name = $1, handle = $2 WHERE channel_id = $3 AND external_id = $4",
                    params![new_name, new_handle, channel.as_str(), m.author.external_id.as_str()],
                )?;
            }
            // Only a change is written: the row is not locked for every message an author
            // sends (their threads may be stored on other lanes at the same time).
            let followers = m.author.followers.map(|f| f.min(i64::MAX as u64) as i64);
            let verified = m.author.verified;
            if (followers.is_some() && followers != r.opt_int(3)?)
                || (verified.is_some() && verified != r.opt_int(4)?.map(|v| v != 0))
            {
                c.execute(
                    "UPDATE identities SET followers = COALESCE($1, followers), verified = COALESCE($2, verified) \
                     WHERE channel_id = $3 AND external_id = $4",
                    params![followers, verified, channel.as_str(), m.author.external_id.as_str()],
                )?;
            }
            id
        }
        None => {
            let id = ContactId::new_at(now);
            c.execute(
                "INSERT INTO contacts (id, display_name, created_at) VALUES ($1, $2, $3)",
                params![id.to_string(), display.clone(), now.as_unix_micros()],
            )?;
            c.execute(
                "INSERT INTO identities (channel_id, external_id, contact_id, channel_kind, name, handle, created_at, followers, verified) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                params![
                    channel.as_str(),
                    m.author.external_id.as_str(),
                    id.to_string(),
                    item.channel_kind.as_str(),
                    m.author.name.clone(),
                    m.author.handle.clone(),
                    now.as_unix_micros(),
                    m.author.followers.map(|f| f.min(i64::MAX as u64) as i64),
                    m.author.verified
                ],
            )?;
            if let Some(key) =
                ContactKey::of_identity(item.channel_kind.as_str(), &m.author.external_id)
            {
                crate::contact_keys::add(c, id, &key, KeySource::Identity, now)?;
            }
            id
        }
    };
    // The address a chat visitor typed into the pre-chat form: their word, not proof, so a
    // weak key (it links them to an e-mail contact holding it strongly).
    if item.channel_kind == "webchat" {
        if let Some(key) = m.author.handle.as_deref().and_then(ContactKey::email) {
            crate::contact_keys::add(c, contact, &key, KeySource::Message, now)?;
        }
        // Or left to be answered by mail (perhaps before this message was filed).
        if let Some(r) = c.query_opt(
            "SELECT email FROM chat_followups WHERE channel_id = $1 AND thread = $2",
            params![channel.as_str(), m.thread.as_str()],
        )? && let Some(key) = ContactKey::email(&r.text(0)?)
        {
            crate::contact_keys::add(c, contact, &key, KeySource::Message, now)?;
        }
    }
    // A number or address the customer wrote privately ties this contact to others weakly
    // (in public, people also write other people's).
    if !m.public
        && let Some(u) = understood
    {
        for key in ContactKey::in_text(&m.text, &u.personal_data) {
            crate::contact_keys::add(c, contact, &key, KeySource::Message, now)?;
        }
    }

    // Conversation: the one holding the message this one answers, else the channel's thread.
    let sent_at = m.sent_at.unwrap_or(item.received_at);
    let found =
        crate::provider_events::conversation_for(c, &channel, m.reply_to.as_deref(), &m.thread)?;
    let mut new_conversation = false;
    let conversation = match found {
        Some((id, _)) => {
            c.execute(
                "UPDATE conversations SET last_message_at = $1 WHERE id = $2",
                params![now.as_unix_micros(), id.to_string()],
            )?;
            id
        }
        None => {
            new_conversation = true;
            let id = ConversationId::new_at(now);
            c.execute(
                "INSERT INTO conversations (id, channel_id, thread, public, contact_id, created_at, last_message_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                params![id.to_string(), channel.as_str(), m.thread.as_str(), m.public, contact.to_string(), now.as_unix_micros(), now.as_unix_micros()],
            )?;
            id
        }
    };

    // Case: the conversation's latest (or the case it was merged into), unless it is closed
    // or was resolved longer ago than the reopen window.
    let mut latest = c.query_opt(
        "SELECT id, status, resolved_at, merged_into, resolution, csat_state FROM cases WHERE conversation_id = $1 ORDER BY id DESC LIMIT 1",
        params![conversation.to_string()],
    )?;
    // A customer answering a private reply in a new private thread joins the case of the
    // public comment it answered (within the seven days Meta allows a private reply).
    // Only these kinds answer a public comment privately (`Adapter::private_replies` in
    // switchboard-channels); on the others there is nothing to look for.
    let private_replies = matches!(item.channel_kind.as_str(), "messenger" | "instagram" | "x");
    if latest.is_none() && new_conversation && !m.public && private_replies {
        // The partial index over private replies (they are few) is chosen only when the query
        // states its condition as written: PostgreSQL's generic plan for a bound `= $n` read
        // every message of the channel, once per new conversation.
        let private = match c.backend() {
            Backend::Sqlite => "p.private_reply = 1",
            Backend::Postgres => "p.private_reply",
        };
        latest = c.query_opt(
            &format!(
                "SELECT k.id, k.status, k.resolved_at, k.merged_into, k.resolution, k.csat_state FROM messages p \
                 JOIN conversations v ON v.id = p.conversation_id JOIN cases k ON k.id = p.case_id \
                 WHERE {private} AND p.channel_id = $1 AND v.contact_id = $2 AND p.created_at >= $3 \
                 ORDER BY p.created_at DESC LIMIT 1"
            ),
            params![
                channel.as_str(),
                contact.to_string(),
                now.as_unix_micros() - 7 * 24 * 3_600_000_000
            ],
        )?;
    }
    for _ in 0..8 {
        let Some(target) = latest
            .as_ref()
            .map(|r| r.opt_text(3))
            .transpose()?
            .flatten()
        else {
            break;
        };
        latest = c.query_opt(
            "SELECT id, status, resolved_at, merged_into, resolution, csat_state FROM cases WHERE id = $1",
            params![target],
        )?;
    }
    let window = active.map_or(switchboard_core::case::DEFAULT_REOPEN_WINDOW_MICROS, |a| {
        a.playbook.lifecycle.reopen_within
    });
    let mut on_inbound = match &latest {
        Some(r) => CaseStatus::parse(&r.text(1)?).map_err(bad)?.on_inbound(
            r.opt_int(2)?.map(Timestamp::from_unix_micros),
            now,
            window,
        ),
        None => OnInbound::NewCase {
            close_previous: false,
        },
    };
    // The customer answers an automatic answer: a thank-you confirms it (the case stays
    // resolved); anything else says it did not help, and the case goes back to a person.
    let mut deflection_failed = false;
    if let (OnInbound::Attach { reopened: true, .. }, Some(r)) = (on_inbound, &latest)
        && r.opt_text(4)?.as_deref() == Some(crate::auto_answer::DEFLECTED)
    {
        let id = CaseId::parse(&r.text(0)?).map_err(bad)?;
        let negative = understood
            .and_then(|u| u.sentiment.as_ref())
            .is_some_and(|s| s.label == "negative");
        if switchboard_core::kb::is_thanks(&m.text) && !negative {
            crate::auto_answer::confirmed(c, id, now)?;
            on_inbound = OnInbound::Attach {
                status: CaseStatus::Resolved,
                reopened: false,
            };
        } else {
            crate::auto_answer::reopened(c, id, now)?;
            deflection_failed = true;
        }
    }
    // The customer answers a satisfaction survey with a score: recorded, and the case stays
    // resolved. Anything else reopens it as usual.
    if let (OnInbound::Attach { reopened: true, .. }, Some(r)) = (on_inbound, &latest)
        && r.opt_text(5)?.as_deref() == Some(crate::csat::ASKED)
        && let Some(score) = switchboard_core::csat::score(&m.text)
    {
        let id = CaseId::parse(&r.text(0)?).map_err(bad)?;
        crate::csat::answered(c, id, score, m.sent_at.unwrap_or(item.received_at), now)?;
        on_inbound = OnInbound::Attach {
            status: CaseStatus::Resolved,
            reopened: false,
        };
    }
    // A new case's notify hooks and escalation, acted on once its first message is stored.
    let mut after_routing: Option<(Vec<String>, bool)> = None;
    let mut auto_answer = None;
    let (case_id, case_event) = match (on_inbound, latest) {
        (OnInbound::Attach { status, reopened }, Some(r)) => {
            let id = CaseId::parse(&r.text(0)?).map_err(bad)?;
            let old = r.text(1)?;
            if status.as_str() != old {
                crate::lifecycle::leave_status(c, id, now)?;
                c.execute(
                    "UPDATE cases SET status = $1, updated_at = $2, reopen_count = reopen_count + $3, resolved_at = NULL, \
                     status_since = $2, sla_check_at = $2, resolution = NULL WHERE id = $4",
                    params![status.as_str(), now.as_unix_micros(), reopened as i64, id.to_string()],
                )?;
                let action = if reopened {
                    "case.reopened"
                } else {
                    "case.status_changed"
                };
                audit(
                    c,
                    &Actor::System,
                    action,
                    ("case", id.to_string()),
                    json!({"from": old, "to": status, "cause": if deflection_failed {
                        "the customer answered the automatic answer: it did not help"
                    } else {
                        "customer message"
                    }}),
                    now,
                )?;
                (id, Some(("case.updated", case_by_id(c, id)?)))
            } else {
                // The customer waits again: the next response clock may start.
                c.execute(
                    "UPDATE cases SET sla_check_at = $1 WHERE id = $2",
                    params![now.as_unix_micros(), id.to_string()],
                )?;
                (id, None)
            }
        }
        (on_inbound, latest) => {
            let close_previous = matches!(
                on_inbound,
                OnInbound::NewCase {
                    close_previous: true
                }
            );
            if close_previous && let Some(r) = &latest {
                let old = r.text(0)?;
                c.execute(
                    "UPDATE cases SET status = 'closed', updated_at = $1, status_since = $1, sla_check_at = NULL WHERE id = $2",
                    params![now.as_unix_micros(), old.as_str()],
                )?;
                audit(
                    c,
                    &Actor::System,
                    "case.closed",
                    ("case", old.clone()),
                    json!({"from": "resolved", "cause": "the customer wrote after the reopen window", "reopen_within_micros": window}),
                    now,
                )?;
                let closed = case_by_id(c, CaseId::parse(&old).map_err(bad)?)?;
                events.push(PendingEvent {
                    kind: "case.updated",
                    case_id: Some(closed.id),
                    data: json!({ "case": closed }),
                    at: now,
                });
            }
            let routed = match active {
                Some(active) => {
                    let facts = routing::facts(
                        c,
                        item.channel_id,
                        &item.channel_kind,
                        contact,
                        m,
                        understood,
                    )?;
                    Some(routing::route(c, active, &facts, now)?)
                }
                None => None,
            };
            let mut case = Case {
                id: CaseId::new_at(now),
                status: CaseStatus::New,
                purpose: routing::understood_purpose(understood).unwrap_or_else(Purpose::tier1),
                team: None,
                assignee: None,
                priority: Priority::Normal,
                tags: vec![],
                contact_id: contact,
                conversation_id: conversation,
                channel_id: item.channel_id,
                public: m.public,
                created_at: now,
                updated_at: now,
                first_response_at: None,
                resolved_at: None,
                reopen_count: 0,
                skills: vec![],
                approval_team: None,
                escalated: false,
                routing: None,
                merged_into: None,
                resolution: None,
            };
            if let Some(r) = routed {
                after_routing = Some((r.notify, r.escalated));
                auto_answer = r.auto_answer;
                case.purpose = r.purpose;
                case.team = r.team;
                case.assignee = r.assignee;
                case.priority = r.priority;
                case.tags = r.tags;
                case.skills = r.skills;
                case.approval_team = r.approval_team;
                case.escalated = r.escalated;
                case.routing = Some(r.record);
            }
            c.execute(
                "INSERT INTO cases (id, status, purpose, priority, tags, contact_id, conversation_id, created_at, updated_at, reopen_count, \
                 team_id, assignee_id, skills, approval_team_id, escalated, routing, status_since, sla_check_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11, $12, $13, $14, $15, $8, $8)",
                params![
                    case.id.to_string(),
                    case.status.as_str(),
                    case.purpose.as_str(),
                    case.priority.as_str(),
                    serde_json::to_string(&case.tags).unwrap_or_else(|_| "[]".into()),
                    contact.to_string(),
                    conversation.to_string(),
                    now.as_unix_micros(),
                    now.as_unix_micros(),
                    case.team.map(|t| t.to_string()),
                    case.assignee.map(|u| u.to_string()),
                    serde_json::to_string(&case.skills).unwrap_or_else(|_| "[]".into()),
                    case.approval_team.map(|t| t.to_string()),
                    case.escalated,
                    case.routing.as_ref().map(|r| r.to_string())
                ],
            )?;
            audit(
                c,
                &Actor::System,
                "case.created",
                ("case", case.id.to_string()),
                json!({"conversation_id": conversation, "contact_id": contact}),
                now,
            )?;
            if let Some(record) = &case.routing {
                audit(
                    c,
                    &Actor::System,
                    "case.routed",
                    ("case", case.id.to_string()),
                    record.clone(),
                    now,
                )?;
            }
            report.cases_opened += 1;
            (case.id, Some(("case.created", case)))
        }
    };

    let message = Message {
        id: MessageId::new_at(now),
        case_id,
        conversation_id: conversation,
        channel_id: item.channel_id,
        direction: Direction::Inbound,
        external_id: Some(m.external_id.clone()),
        author: crate::Author {
            kind: "contact".into(),
            id: Some(contact.to_string()),
            name: display.clone(),
        },
        text: m.text.clone(),
        sent_at,
        created_at: now,
        delivery_state: DeliveryState::Received,
        delivery_error: None,
        attempts: 0,
        in_reply_to: None,
        review_team: None,
        reviewed_by: None,
        review_comment: None,
        suggested: false,
        understanding: understood.cloned(),
        attachments: m.attachments.clone(),
        reply_to_external: m.reply_to.clone(),
        edited_at: None,
        original_text: None,
        deleted_at: None,
        reactions: Vec::new(),
        private_reply: false,
        template: None,
        seq: Some(crate::chat::next_seq(c, conversation)?),
    };
    c.execute(
        "INSERT INTO messages (id, case_id, conversation_id, channel_id, direction, external_id, contact_id, author_name, text, \
         sent_at, created_at, delivery_state, attempts, updated_at, author_kind, understanding, attachments, reply_to_external, seq) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $13, 'contact', $14, $15, $16, $17)",
        params![
            message.id.to_string(),
            case_id.to_string(),
            conversation.to_string(),
            channel.as_str(),
            Direction::Inbound.as_str(),
            m.external_id.as_str(),
            contact.to_string(),
            display,
            m.text.as_str(),
            sent_at.as_unix_micros(),
            now.as_unix_micros(),
            DeliveryState::Received.as_str(),
            now.as_unix_micros(),
            understood.and_then(|u| serde_json::to_string(u).ok()),
            (!m.attachments.is_empty())
                .then(|| serde_json::to_string(&m.attachments).unwrap_or_default()),
            m.reply_to.clone(),
            message.seq
        ],
    )?;
    report.messages += 1;
    if let Some(policy) = auto_answer {
        crate::auto_answer::queue(c, case_id, message.id, &policy, now)?;
        report.auto_answers += 1;
    }
    if let Some((notify, escalated)) = after_routing
        && let Some((_, case)) = &case_event
    {
        if !notify.is_empty() {
            crate::hooks::enqueue(
                c,
                &notify,
                "case.routed",
                Some(case_id),
                &json!({ "case": case, "message": message }),
                now,
            )?;
        }
        if escalated {
            let supervisors = crate::notify::supervisors_of(c, case.team)?;
            let who = message.author.name.as_deref().unwrap_or("a contact");
            crate::notify::notify_later(
                c,
                &supervisors,
                "case.escalated",
                Some(case_id),
                &format!(
                    "Escalated by the playbook: a new {} case from {who}",
                    case.purpose
                ),
                now,
                events,
            )?;
        }
    }
    if let Some((kind, case)) = case_event {
        events.push(PendingEvent {
            kind,
            case_id: Some(case_id),
            data: json!({ "case": case }),
            at: now,
        });
    }
    events.push(PendingEvent {
        kind: "message.created",
        case_id: Some(case_id),
        data: json!({ "message": message }),
        at: now,
    });
    Ok(())
}
