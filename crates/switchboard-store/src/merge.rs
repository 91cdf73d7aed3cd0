//! Merging cases, and splitting messages off a case into a new one.
//!
//! A merge moves every message of the source cases to the target and closes the sources with
//! `merged_into` pointing at the target. Messages keep their own conversation, so one case can
//! hold a public mention and the private message that followed it; a reply can then go out on
//! either (`Store::reply_on`). Cases of different contacts merge only when the caller also asks
//! to merge the contacts (the author of a public mention and of the DM that follows are often
//! two contact records of one person). A split moves some messages of one conversation into a
//! new open case. Every check happens before the first write, so a refusal changes nothing.

use crate::cases::{case_by_id, case_messages};
use crate::journal::{PendingEvent, audit, emit_many};
use crate::sql::{Backend, Conn};
use crate::{Actor, Case, Event, Store, StoreError, params};
use serde_json::json;
use switchboard_core::*;

/// On PostgreSQL, locks the cases' rows until commit, in id order (two merges over the same
/// cases cannot deadlock). An ingest lane adding a message to one of them finishes first, so
/// its message is seen, and moved, by the statements that follow. SQLite has one writer.
fn lock_cases(c: &mut dyn Conn, ids: &[CaseId]) -> Result<(), StoreError> {
    if c.backend() != Backend::Postgres {
        return Ok(());
    }
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    for id in ids {
        c.query(
            "SELECT id FROM cases WHERE id = $1 FOR UPDATE",
            params![id.to_string()],
        )?;
    }
    Ok(())
}

fn json_text(v: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(e.to_string()))
}

/// Moves everything of contact `from` to contact `into`: identities, conversations, cases and
/// the messages it wrote; `into` gains `from`'s tags (and its name, if it had none). The emptied
/// contact stays, with no identities, so nothing that names it breaks. Returns the cases that
/// changed contact.
pub(crate) fn merge_contact(
    c: &mut dyn Conn,
    from: ContactId,
    into: ContactId,
    actor: &Actor,
    now: Timestamp,
) -> Result<Vec<CaseId>, StoreError> {
    let cases = c
        .query(
            "SELECT id FROM cases WHERE contact_id = $1 ORDER BY id",
            params![from.to_string()],
        )?
        .iter()
        .map(|r| CaseId::parse(&r.text(0)?).map_err(crate::journal::bad))
        .collect::<Result<Vec<_>, _>>()?;
    let (from_s, into_s) = (from.to_string(), into.to_string());
    let identities = c.execute(
        "UPDATE identities SET contact_id = $1 WHERE contact_id = $2",
        params![into_s.as_str(), from_s.as_str()],
    )?;
    let conversations = c.execute(
        "UPDATE conversations SET contact_id = $1 WHERE contact_id = $2",
        params![into_s.as_str(), from_s.as_str()],
    )?;
    c.execute(
        "UPDATE cases SET contact_id = $1, updated_at = $2 WHERE contact_id = $3",
        params![into_s.as_str(), now.as_unix_micros(), from_s.as_str()],
    )?;
    let messages = c.execute(
        "UPDATE messages SET contact_id = $1 WHERE contact_id = $2",
        params![into_s.as_str(), from_s.as_str()],
    )?;
    // Keys: the target keeps its own where both hold one (the stronger source wins).
    let keys = c.query(
        "SELECT kind, value, source FROM contact_keys WHERE contact_id = $1",
        params![from_s.as_str()],
    )?;
    for r in keys {
        let key = ContactKey {
            kind: KeyKind::parse(&r.text(0)?).map_err(crate::journal::bad)?,
            value: r.text(1)?,
        };
        let source = KeySource::parse(&r.text(2)?).map_err(crate::journal::bad)?;
        crate::contact_keys::add(c, into, &key, source, now)?;
    }
    c.execute(
        "DELETE FROM contact_keys WHERE contact_id = $1",
        params![from_s.as_str()],
    )?;
    // Whoever `from` was said to be distinct from, the merged person is too.
    let distinct = c.query(
        "SELECT a, b FROM contacts_distinct WHERE a = $1 OR b = $1",
        params![from_s.as_str()],
    )?;
    for r in distinct {
        let (a, b) = (r.text(0)?, r.text(1)?);
        let other = if a == from_s { b } else { a };
        if other == into_s {
            continue;
        }
        let (lo, hi) = if into_s < other {
            (into_s.clone(), other)
        } else {
            (other, into_s.clone())
        };
        c.execute(
            "INSERT INTO contacts_distinct (a, b, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            params![lo, hi, now.as_unix_micros()],
        )?;
    }
    c.execute(
        "DELETE FROM contacts_distinct WHERE a = $1 OR b = $1",
        params![from_s.as_str()],
    )?;
    // `from`, and whatever was merged into it before, now point at `into`.
    c.execute(
        "UPDATE contacts SET merged_into = $1 WHERE id = $2 OR merged_into = $2",
        params![into_s.as_str(), from_s.as_str()],
    )?;
    let name_and_tags =
        |c: &mut dyn Conn, id: &str| -> Result<(Option<String>, Vec<String>), StoreError> {
            let r = c.query_one(
                "SELECT display_name, tags FROM contacts WHERE id = $1",
                params![id],
            )?;
            Ok((r.opt_text(0)?, crate::directory::json_list(&r.text(1)?)?))
        };
    let (_, mut tags) = name_and_tags(c, &into_s)?;
    let (from_name, from_tags) = name_and_tags(c, &from_s)?;
    for t in from_tags {
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    c.execute(
        "UPDATE contacts SET tags = $1, display_name = COALESCE(display_name, $2) WHERE id = $3",
        params![json_text(&tags)?, from_name, into_s.as_str()],
    )?;
    audit(
        c,
        actor,
        "contact.merged",
        ("contact", from_s),
        json!({
            "into": into,
            "identities": identities,
            "conversations": conversations,
            "messages": messages,
            "cases": cases,
            "tags": tags,
        }),
        now,
    )?;
    Ok(cases)
}

/// Refuses to merge contacts that each have an identity on the same channel: a reply goes to
/// the contact's identity on the reply's channel, and with two it could not tell which one
/// the customer wrote from.
pub(crate) fn one_identity_per_channel(
    c: &mut dyn Conn,
    contacts: &[ContactId],
) -> Result<(), StoreError> {
    let mut seen: Vec<(String, ContactId)> = Vec::new();
    for &contact in contacts {
        let rows = c.query(
            "SELECT i.channel_id, ch.name FROM identities i JOIN channels ch ON ch.id = i.channel_id \
             WHERE i.contact_id = $1 ORDER BY i.created_at",
            params![contact.to_string()],
        )?;
        for r in rows {
            let (channel, name) = (r.text(0)?, r.text(1)?);
            if let Some((_, first)) = seen.iter().find(|(ch, _)| *ch == channel) {
                return Err(StoreError::Invalid(format!(
                    "contacts {first} and {contact} both have an identity on the channel {name:?}; merged, a reply \
                     there could not tell which one to write to, so they cannot be merged"
                )));
            }
            seen.push((channel, contact));
        }
    }
    Ok(())
}

impl Store {
    /// Merges `sources` into `target`: their messages move to it (each keeps its conversation
    /// and channel), and each source is closed with `merged_into = target` (its `resolved_at`
    /// kept, or set now). The target takes the earliest `created_at` and the earliest
    /// `first_response_at` of all the cases (the customer has been waiting since the first of
    /// them, and was first answered at the first answer on any of them), the highest priority
    /// and the union of the tags; its other fields stay. A resolved target that absorbs an
    /// active case opens again.
    ///
    /// Refused ([`StoreError::Invalid`], nothing changed): no sources, a source named twice or
    /// equal to the target, an unknown source, a source already merged, a target closed or
    /// merged, or a source of another contact unless `merge_contacts` — then each such contact
    /// is merged into the target's first (identities, conversations, cases and messages move
    /// to it, tags are unioned; audited as `contact.merged`), unless two of the contacts have
    /// an identity on the same channel (a reply there could not tell them apart). An unknown
    /// target is [`StoreError::NotFound`]. Audits `case.merged` per source; emits
    /// `case.updated` for every case that changed.
    pub async fn merge_cases(
        &self,
        target: CaseId,
        sources: Vec<CaseId>,
        merge_contacts: bool,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(Case, Vec<Event>), StoreError> {
        self.pool
            .write(move |c| {
                if sources.is_empty() {
                    return Err(StoreError::Invalid("name at least one case to merge into this one".into()));
                }
                let mut all = sources.clone();
                all.push(target);
                lock_cases(c, &all)?;

                // Every check, before the first write.
                let into = case_by_id(c, target)?;
                if let Some(m) = into.merged_into {
                    return Err(StoreError::Invalid(format!(
                        "case {target} was merged into case {m}; merge into that case instead"
                    )));
                }
                if into.status == CaseStatus::Closed {
                    return Err(StoreError::Invalid(format!(
                        "case {target} is closed; merge into a case that is not closed"
                    )));
                }
                let mut from: Vec<Case> = Vec::with_capacity(sources.len());
                for &id in &sources {
                    if id == target {
                        return Err(StoreError::Invalid(format!("a case cannot be merged into itself ({id})")));
                    }
                    if from.iter().any(|f| f.id == id) {
                        return Err(StoreError::Invalid(format!("case {id} is named twice")));
                    }
                    let case = match case_by_id(c, id) {
                        Err(StoreError::NotFound) => {
                            return Err(StoreError::Invalid(format!("no case with id {id}")));
                        }
                        other => other?,
                    };
                    if let Some(m) = case.merged_into {
                        return Err(StoreError::Invalid(format!("case {id} was already merged into case {m}")));
                    }
                    from.push(case);
                }
                let mut contacts: Vec<ContactId> = Vec::new();
                for f in &from {
                    if f.contact_id != into.contact_id && !contacts.contains(&f.contact_id) {
                        contacts.push(f.contact_id);
                    }
                }
                if !merge_contacts
                    && let Some(other) = from.iter().find(|f| f.contact_id != into.contact_id)
                {
                    return Err(StoreError::Invalid(format!(
                        "case {} belongs to another contact than case {target}; to merge them, merge the contacts \
                         too with \"merge_contacts\": true (when both are the same person)",
                        other.id
                    )));
                }
                if !contacts.is_empty() {
                    let mut all = contacts.clone();
                    all.push(into.contact_id);
                    one_identity_per_channel(c, &all)?;
                }

                // Contacts first: the cases below then already belong to the target's contact.
                let mut touched: Vec<CaseId> = Vec::new();
                for contact in contacts {
                    touched.extend(merge_contact(c, contact, into.contact_id, &actor, now)?);
                }
                for f in &from {
                    let moved = c.execute(
                        "UPDATE messages SET case_id = $1 WHERE case_id = $2",
                        params![target.to_string(), f.id.to_string()],
                    )?;
                    c.execute(
                        "UPDATE cases SET status = $1, merged_into = $2, resolved_at = COALESCE(resolved_at, $3), \
                         updated_at = $3 WHERE id = $4",
                        params![CaseStatus::Closed.as_str(), target.to_string(), now.as_unix_micros(), f.id.to_string()],
                    )?;
                    audit(
                        c,
                        &actor,
                        "case.merged",
                        ("case", f.id.to_string()),
                        json!({
                            "into": target,
                            "messages": moved,
                            "status": {"from": f.status, "to": CaseStatus::Closed},
                            "contact_id": f.contact_id,
                        }),
                        now,
                    )?;
                }

                let created_at = from.iter().map(|f| f.created_at).fold(into.created_at, Ord::min);
                let first_response_at = from
                    .iter()
                    .filter_map(|f| f.first_response_at)
                    .chain(into.first_response_at)
                    .min();
                let priority = from.iter().map(|f| f.priority).fold(into.priority, Ord::max);
                let mut tags = into.tags.clone();
                tags.extend(from.iter().flat_map(|f| f.tags.iter().cloned()));
                tags.sort();
                tags.dedup();
                let reopened = into.status == CaseStatus::Resolved && from.iter().any(|f| f.status.is_active());
                let (status, resolved_at) = if reopened {
                    (CaseStatus::Open, None)
                } else {
                    (into.status, into.resolved_at)
                };
                c.execute(
                    "UPDATE cases SET created_at = $1, first_response_at = $2, priority = $3, tags = $4, status = $5, \
                     resolved_at = $6, reopen_count = reopen_count + $7, updated_at = $8 WHERE id = $9",
                    params![
                        created_at.as_unix_micros(),
                        first_response_at.map(|t| t.as_unix_micros()),
                        priority.as_str(),
                        json_text(&tags)?,
                        status.as_str(),
                        resolved_at.map(|t| t.as_unix_micros()),
                        reopened as i64,
                        now.as_unix_micros(),
                        target.to_string()
                    ],
                )?;

                let mut changed: Vec<CaseId> = from.iter().map(|f| f.id).collect();
                for id in touched {
                    if id != target && !changed.contains(&id) {
                        changed.push(id);
                    }
                }
                changed.push(target);
                let mut pending = Vec::with_capacity(changed.len());
                for id in changed {
                    let case = case_by_id(c, id)?;
                    pending.push(PendingEvent { kind: "case.updated", case_id: Some(id), data: json!({ "case": case }), at: now });
                }
                let events = emit_many(c, pending)?;
                Ok((case_by_id(c, target)?, events))
            })
            .await
    }

    /// Moves `messages` of `case` into a new open case with the same contact, purpose, team,
    /// assignee, priority, tags, skills and approval team, on the messages' conversation. The
    /// new case's `created_at` is its earliest message's, and its `first_response_at` its
    /// earliest reply (queued or sent), if any. When no message is left on the case's own
    /// conversation, the case moves to the conversation of its latest remaining message, so
    /// its replies go where its customer still is.
    ///
    /// Refused ([`StoreError::Invalid`], nothing changed): no messages, a message named twice
    /// or not on the case, every message of the case, messages of more than one conversation,
    /// a closed or merged case. An unknown case is [`StoreError::NotFound`]. Audits `case.split`
    /// on both cases; emits `case.created` and `case.updated`.
    pub async fn split_case(
        &self,
        case: CaseId,
        messages: Vec<MessageId>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(Case, Vec<Event>), StoreError> {
        self.pool
            .write(move |c| {
                lock_cases(c, &[case])?;
                let from = case_by_id(c, case)?;
                if let Some(m) = from.merged_into {
                    return Err(StoreError::Invalid(format!(
                        "case {case} was merged into case {m}; its messages are there"
                    )));
                }
                if from.status == CaseStatus::Closed {
                    return Err(StoreError::Invalid(format!("case {case} is closed; its history is final")));
                }
                if messages.is_empty() {
                    return Err(StoreError::Invalid("name at least one message to split off".into()));
                }
                let all = case_messages(c, case)?;
                let mut picked = Vec::with_capacity(messages.len());
                for (i, &id) in messages.iter().enumerate() {
                    if messages[..i].contains(&id) {
                        return Err(StoreError::Invalid(format!("message {id} is named twice")));
                    }
                    match all.iter().find(|m| m.id == id) {
                        Some(m) => picked.push(m),
                        None => return Err(StoreError::Invalid(format!("message {id} is not on case {case}"))),
                    }
                }
                if picked.len() == all.len() {
                    return Err(StoreError::Invalid(format!(
                        "these are all the messages of case {case}; leave at least one on it"
                    )));
                }
                let conversation = picked[0].conversation_id;
                if picked.iter().any(|m| m.conversation_id != conversation) {
                    return Err(StoreError::Invalid(
                        "the messages are on more than one conversation; split off the messages of one conversation at a time".into(),
                    ));
                }

                let new = CaseId::new_at(now);
                let created_at = picked.iter().map(|m| m.created_at).min().unwrap_or(now);
                let first_response_at = picked
                    .iter()
                    .filter(|m| {
                        m.direction == Direction::Outbound
                            && !matches!(m.delivery_state, DeliveryState::PendingApproval | DeliveryState::Rejected)
                    })
                    .map(|m| m.created_at)
                    .min();
                c.execute(
                    "INSERT INTO cases (id, status, purpose, priority, tags, contact_id, conversation_id, created_at, updated_at, \
                     first_response_at, reopen_count, team_id, assignee_id, skills, approval_team_id, escalated) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $13, $14, $15)",
                    params![
                        new.to_string(),
                        CaseStatus::Open.as_str(),
                        from.purpose.as_str(),
                        from.priority.as_str(),
                        json_text(&from.tags)?,
                        from.contact_id.to_string(),
                        conversation.to_string(),
                        created_at.as_unix_micros(),
                        now.as_unix_micros(),
                        first_response_at.map(|t| t.as_unix_micros()),
                        from.team.map(|t| t.to_string()),
                        from.assignee.map(|u| u.to_string()),
                        json_text(&from.skills)?,
                        from.approval_team.map(|t| t.to_string()),
                        from.escalated
                    ],
                )?;
                let ids: Vec<MessageId> = picked.iter().map(|m| m.id).collect();
                for id in &ids {
                    c.execute(
                        "UPDATE messages SET case_id = $1 WHERE id = $2 AND case_id = $3",
                        params![new.to_string(), id.to_string(), case.to_string()],
                    )?;
                }
                // The case follows its customer if none of its messages is left on its conversation.
                let left = all.iter().filter(|m| !ids.contains(&m.id));
                let moved_to = if left.clone().any(|m| m.conversation_id == from.conversation_id) {
                    None
                } else {
                    left.max_by_key(|m| (m.created_at, m.id)).map(|m| m.conversation_id)
                };
                c.execute(
                    "UPDATE cases SET conversation_id = $1, updated_at = $2 WHERE id = $3",
                    params![
                        moved_to.unwrap_or(from.conversation_id).to_string(),
                        now.as_unix_micros(),
                        case.to_string()
                    ],
                )?;
                audit(
                    c,
                    &actor,
                    "case.split",
                    ("case", case.to_string()),
                    json!({"into": new, "messages": ids, "moved_to_conversation": moved_to}),
                    now,
                )?;
                audit(
                    c,
                    &actor,
                    "case.split",
                    ("case", new.to_string()),
                    json!({"from": case, "messages": ids, "conversation_id": conversation}),
                    now,
                )?;
                let created = case_by_id(c, new)?;
                let updated = case_by_id(c, case)?;
                let events = emit_many(
                    c,
                    vec![
                        PendingEvent { kind: "case.created", case_id: Some(new), data: json!({ "case": created }), at: now },
                        PendingEvent { kind: "case.updated", case_id: Some(case), data: json!({ "case": updated }), at: now },
                    ],
                )?;
                Ok((created, events))
            })
            .await
    }
}
