//! One person, two contact records: the keys that tie them (phone numbers and e-mail
//! addresses, see [`switchboard_core::contact_key`]), the merges those keys suggest, and the
//! merge itself.
//!
//! A pair is suggested when both contacts hold an equal key and at least one of the two holds
//! it strongly (from an identity or an agent): a number two customers both only *wrote* is
//! often the company's own. A key that more than [`COMMON_KEY`] contacts share (a shop's
//! shared phone, a help-desk address) suggests nothing. Pairs an agent marked as two people
//! are not suggested again.

use crate::contacts::contact_by_id;
use crate::journal::{PendingEvent, audit, emit_many};
use crate::sql::Conn;
use crate::{Actor, Contact, DuplicateContact, Event, MergeSuggestion, Store, StoreError, params};
use serde_json::json;
use switchboard_core::*;

/// A key held by more contacts than this is too common to suggest a merge.
pub const COMMON_KEY: i64 = 5;

/// Records `key` on `contact` (once; a stronger source replaces a weaker one).
pub(crate) fn add(
    c: &mut dyn Conn,
    contact: ContactId,
    key: &ContactKey,
    source: KeySource,
    now: Timestamp,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO contact_keys (contact_id, kind, value, source, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (contact_id, kind, value) DO UPDATE SET source = excluded.source \
         WHERE contact_keys.source = 'message'",
        params![
            contact.to_string(),
            key.kind.as_str(),
            key.value.as_str(),
            source.as_str(),
            now.as_unix_micros()
        ],
    )?;
    Ok(())
}

/// The (other contact, shared key) pairs that suggest `contact` is someone else's duplicate,
/// ordered by other contact.
fn shared_keys(
    c: &mut dyn Conn,
    contact: Option<ContactId>,
    limit: i64,
) -> Result<Vec<(ContactId, ContactId, ContactKey)>, StoreError> {
    // With a contact: its pairs (it comes first). Without: every pair once.
    let filter = match contact {
        Some(_) => "me.contact_id = $3",
        None => "me.contact_id < o.contact_id",
    };
    let sql = format!(
        "SELECT me.contact_id, o.contact_id, me.kind, me.value FROM contact_keys me \
         JOIN contact_keys o ON o.kind = me.kind AND o.value = me.value AND o.contact_id <> me.contact_id \
         WHERE {filter} AND (me.source <> 'message' OR o.source <> 'message') \
         AND NOT EXISTS (SELECT 1 FROM contacts_distinct d WHERE (d.a = me.contact_id AND d.b = o.contact_id) \
                         OR (d.a = o.contact_id AND d.b = me.contact_id)) \
         AND (SELECT COUNT(*) FROM contact_keys k WHERE k.kind = me.kind AND k.value = me.value) <= $1 \
         ORDER BY me.contact_id, o.contact_id, me.kind, me.value LIMIT $2"
    );
    let rows = match contact {
        Some(id) => c.query(&sql, params![COMMON_KEY, limit, id.to_string()])?,
        None => c.query(&sql, params![COMMON_KEY, limit])?,
    };
    rows.iter()
        .map(|r| {
            let id = |i| ContactId::parse(&r.text(i)?).map_err(crate::journal::bad);
            let kind = KeyKind::parse(&r.text(2)?).map_err(crate::journal::bad)?;
            Ok((
                id(0)?,
                id(1)?,
                ContactKey {
                    kind,
                    value: r.text(3)?,
                },
            ))
        })
        .collect()
}

/// Groups (a, b, key) rows, in order, into (a, b, keys).
fn group(
    rows: Vec<(ContactId, ContactId, ContactKey)>,
) -> Vec<(ContactId, ContactId, Vec<ContactKey>)> {
    let mut out: Vec<(ContactId, ContactId, Vec<ContactKey>)> = Vec::new();
    for (a, b, key) in rows {
        match out.last_mut() {
            Some((la, lb, keys)) if *la == a && *lb == b => keys.push(key),
            _ => out.push((a, b, vec![key])),
        }
    }
    out
}

impl Store {
    /// Contacts that may be the same person as `id`, with the keys they share. An unknown
    /// contact is [`StoreError::NotFound`].
    pub async fn contact_duplicates(
        &self,
        id: ContactId,
    ) -> Result<Vec<DuplicateContact>, StoreError> {
        self.pool
            .read(move |c| {
                contact_by_id(c, id)?;
                group(shared_keys(c, Some(id), 500)?)
                    .into_iter()
                    .map(|(_, other, shared)| {
                        Ok(DuplicateContact {
                            contact: contact_by_id(c, other)?,
                            shared,
                        })
                    })
                    .collect()
            })
            .await
    }

    /// Every pair of contacts that may be one person, at most `limit` pairs; in each pair `a`
    /// is the older record.
    pub async fn merge_suggestions(&self, limit: i64) -> Result<Vec<MergeSuggestion>, StoreError> {
        self.pool
            .read(move |c| {
                let pairs = group(shared_keys(c, None, limit.saturating_mul(4))?);
                pairs
                    .into_iter()
                    .take(limit.max(0) as usize)
                    .map(|(a, b, shared)| {
                        let (a, b) = (contact_by_id(c, a)?, contact_by_id(c, b)?);
                        let (a, b) = if b.created_at < a.created_at {
                            (b, a)
                        } else {
                            (a, b)
                        };
                        Ok(MergeSuggestion { a, b, shared })
                    })
                    .collect()
            })
            .await
    }

    /// Records that `a` and `b` are two people, so they are no longer suggested as one.
    /// Refused ([`StoreError::Invalid`]): the same contact twice, or an unknown `b`; an unknown
    /// `a` is [`StoreError::NotFound`].
    pub async fn mark_distinct(
        &self,
        a: ContactId,
        b: ContactId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.pool
            .write(move |c| {
                contact_by_id(c, a)?;
                if a == b {
                    return Err(StoreError::Invalid(format!("contact {a} cannot be distinct from itself")));
                }
                match contact_by_id(c, b) {
                    Err(StoreError::NotFound) => {
                        return Err(StoreError::Invalid(format!("no contact with id {b}")));
                    }
                    other => other?,
                };
                let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                c.execute(
                    "INSERT INTO contacts_distinct (a, b, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    params![lo.to_string(), hi.to_string(), now.as_unix_micros()],
                )?;
                audit(c, &actor, "contact.distinct", ("contact", a.to_string()), json!({ "other": b }), now)
            })
            .await
    }

    /// Merges contact `from` into `into`: its identities, keys, conversations, cases and
    /// messages move to `into`, which gains its tags (and its name, if it had none); `from`
    /// stays, empty, with `merged_into` set. Cases stay separate (merge them with
    /// [`Store::merge_cases`] if they are one matter).
    ///
    /// Refused ([`StoreError::Invalid`], nothing changed): `from` equal to `into`, an unknown
    /// `into`, either already merged, or both with an identity on the same channel (a reply
    /// there could not tell which one to write to). An unknown `from` is
    /// [`StoreError::NotFound`]. Audits `contact.merged`; emits `case.updated` for each case
    /// that changed contact.
    pub async fn merge_contacts(
        &self,
        from: ContactId,
        into: ContactId,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(Contact, Vec<Event>), StoreError> {
        self.pool
            .write(move |c| {
                let source = contact_by_id(c, from)?;
                if from == into {
                    return Err(StoreError::Invalid(format!("a contact cannot be merged into itself ({from})")));
                }
                let target = match contact_by_id(c, into) {
                    Err(StoreError::NotFound) => {
                        return Err(StoreError::Invalid(format!("no contact with id {into}")));
                    }
                    other => other?,
                };
                if let Some(m) = source.merged_into {
                    return Err(StoreError::Invalid(format!("contact {from} was already merged into contact {m}")));
                }
                if let Some(m) = target.merged_into {
                    return Err(StoreError::Invalid(format!(
                        "contact {into} was merged into contact {m}; merge into that contact instead"
                    )));
                }
                crate::merge::one_identity_per_channel(c, &[into, from])?;
                let cases = crate::merge::merge_contact(c, from, into, &actor, now)?;
                let mut pending = Vec::with_capacity(cases.len());
                for id in cases {
                    let case = crate::cases::case_by_id(c, id)?;
                    pending.push(PendingEvent { kind: "case.updated", case_id: Some(id), data: json!({ "case": case }), at: now });
                }
                let events = emit_many(c, pending)?;
                Ok((contact_by_id(c, into)?, events))
            })
            .await
    }
}
