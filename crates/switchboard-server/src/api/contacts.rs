//! Contacts and their timeline across every channel and case.

use super::PageQuery;
use crate::AppState;
use crate::auth::{Allowed, need};
use crate::error::{ApiError, Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use switchboard_core::{ContactId, ContactKey, KeyKind, KeySource, MessageId};
use switchboard_store::{ContactUpdate, StoreError};

pub async fn list(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Query(q): Query<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(
        state
            .store
            .list_contacts(q.cursor(ContactId::parse)?, q.limit()?)
            .await?,
    ))
}

pub async fn get_one(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(
        state
            .store
            .contact(ApiError::path_id(&id, ContactId::parse, "contact")?)
            .await
            .map_err(ApiError::from_store("contact"))?,
    ))
}

pub async fn timeline(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let page = state
        .store
        .contact_timeline(
            ApiError::path_id(&id, ContactId::parse, "contact")?,
            q.cursor(MessageId::parse)?,
            q.limit()?,
        )
        .await
        .map_err(ApiError::from_store("contact"))?;
    Ok(axum::Json(page))
}

/// The most phone numbers, or e-mail addresses, an agent can enter on one contact.
const MAX_KEYS: usize = 20;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    tags: Option<Vec<String>>,
    /// Replaces the e-mail addresses agents entered (those the contact wrote from stay).
    emails: Option<Vec<String>>,
    /// Replaces the phone numbers agents entered, in international form (`+44 20 7946 0958`).
    phones: Option<Vec<String>>,
}

/// One field's list of keys, each parsed; a bad one is a 400 naming it.
fn key_list(field: &str, kind: KeyKind, raw: &[String]) -> Result<Vec<ContactKey>, ApiError> {
    if raw.len() > MAX_KEYS {
        return Err(ApiError::invalid_field(
            field,
            format!("at most {MAX_KEYS}"),
        ));
    }
    let mut out: Vec<ContactKey> = Vec::with_capacity(raw.len());
    for r in raw {
        let key = ContactKey::parse(kind, r).ok_or_else(|| {
            let want = match kind {
                KeyKind::Phone => "a phone number in international form, such as +44 20 7946 0958",
                KeyKind::Email => "an e-mail address",
            };
            ApiError::invalid_field(field, format!("{r:?} is not {want}"))
        })?;
        if !out.contains(&key) {
            out.push(key);
        }
    }
    Ok(out)
}

/// `PATCH /contacts/{id}`: replaces the contact's tags (`vip`, `enterprise`…), and the e-mail
/// addresses and phone numbers agents entered; fields left out stay as they are.
pub async fn update(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path(id): Path<String>,
    crate::error::Json(body): crate::error::Json<ContactPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, ContactId::parse, "contact")?;
    if body.tags.is_none() && body.emails.is_none() && body.phones.is_none() {
        return Err(ApiError::invalid_field(
            "tags",
            "name at least one of tags, emails and phones",
        ));
    }
    let tags = match &body.tags {
        Some(tags) if tags.len() > 50 => {
            return Err(ApiError::invalid_field("tags", "at most 50 tags"));
        }
        Some(tags) => Some(
            tags.iter()
                .map(|t| {
                    switchboard_core::Tag::parse(t)
                        .map_err(|e| ApiError::invalid_field("tags", e.0))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let emails = body
        .emails
        .as_deref()
        .map(|r| key_list("emails", KeyKind::Email, r))
        .transpose()?;
    let phones = body
        .phones
        .as_deref()
        .map(|r| key_list("phones", KeyKind::Phone, r))
        .transpose()?;
    let keys = if emails.is_some() || phones.is_some() {
        // A list left out keeps what agents entered of that kind.
        let current = state
            .store
            .contact(id)
            .await
            .map_err(ApiError::from_store("contact"))?;
        let kept = |kind: KeyKind| -> Vec<ContactKey> {
            current
                .keys
                .iter()
                .filter(|k| k.kind == kind && k.source == KeySource::Agent)
                .map(|k| ContactKey {
                    kind,
                    value: k.value.clone(),
                })
                .collect()
        };
        let mut keys = emails.unwrap_or_else(|| kept(KeyKind::Email));
        keys.extend(phones.unwrap_or_else(|| kept(KeyKind::Phone)));
        Some(keys)
    } else {
        None
    };
    Ok(axum::Json(
        state
            .store
            .update_contact(
                id,
                ContactUpdate { tags, keys },
                caller.actor,
                state.clock.now(),
            )
            .await
            .map_err(refused)?,
    ))
}

/// What the store refused about contacts, as a 422 with a code and the request field it is
/// about; an unknown contact in the path is a 404.
fn refused(e: StoreError) -> ApiError {
    let StoreError::Invalid(m) = e else {
        return ApiError::from_store("contact")(e);
    };
    let (code, field) = if m.contains("cannot be merged into itself") {
        ("self_merge", Some("into"))
    } else if m.contains("cannot be distinct from itself") {
        ("self_merge", Some("other"))
    } else if m.starts_with("no contact with id") {
        ("unknown_contact", None)
    } else if m.contains("was already merged into") || m.contains("was merged into") {
        ("contact_merged", None)
    } else if m.contains("both have an identity on the channel") {
        ("identities_clash", None)
    } else {
        ("rule_violated", None)
    };
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, m).on_some_field(field)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The contact that takes this one's identities, keys, conversations and cases.
    into: String,
}

/// `POST /contacts/{id}/merge`: this contact joins `into` (one person, two records); answers
/// with the merged contact.
pub async fn merge(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path(id): Path<String>,
    crate::error::Json(body): crate::error::Json<MergeBody>,
) -> Result<impl IntoResponse, ApiError> {
    let from = ApiError::path_id(&id, ContactId::parse, "contact")?;
    let into = ContactId::parse(&body.into).map_err(|_| {
        ApiError::invalid_field("into", format!("{:?} is not a contact id", body.into))
    })?;
    let (contact, events) = state
        .store
        .merge_contacts(from, into, caller.actor, state.clock.now())
        .await
        .map_err(|e| {
            let about_into = matches!(&e, StoreError::Invalid(m)
                if m.starts_with("no contact with id") || m.starts_with(&format!("contact {into} was merged")));
            let err = refused(e);
            if about_into { err.on_field("into") } else { err }
        })?;
    state.bus.publish(events);
    Ok(axum::Json(contact))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistinctBody {
    /// A contact that is another person, though they share a phone number or address.
    other: String,
}

/// `POST /contacts/{id}/distinct`: the two contacts are two people; they are no longer
/// suggested as one. Answers 204.
pub async fn distinct(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path(id): Path<String>,
    crate::error::Json(body): crate::error::Json<DistinctBody>,
) -> Result<impl IntoResponse, ApiError> {
    let a = ApiError::path_id(&id, ContactId::parse, "contact")?;
    let b = ContactId::parse(&body.other).map_err(|_| {
        ApiError::invalid_field("other", format!("{:?} is not a contact id", body.other))
    })?;
    state
        .store
        .mark_distinct(a, b, caller.actor, state.clock.now())
        .await
        .map_err(|e| match e {
            // Only `other` can be refused; the contact in the path is a 404 when unknown.
            StoreError::Invalid(_) => refused(e).on_field("other"),
            e => refused(e),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /contacts/{id}/duplicates`: contacts that may be the same person, with the phone
/// numbers and addresses they share.
pub async fn duplicates(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, ContactId::parse, "contact")?;
    let items = state
        .store
        .contact_duplicates(id)
        .await
        .map_err(ApiError::from_store("contact"))?;
    Ok(axum::Json(serde_json::json!({ "items": items })))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestionQuery {
    limit: Option<i64>,
}

/// `GET /contacts/duplicates`: every pair of contacts that may be one person.
pub async fn suggestions(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Query(q): Query<SuggestionQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = PageQuery {
        limit: q.limit,
        cursor: None,
    }
    .limit()?;
    let items = state.store.merge_suggestions(limit).await?;
    Ok(axum::Json(serde_json::json!({ "items": items })))
}
