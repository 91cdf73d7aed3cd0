//! The playbook in the store: versions (apply, list, read, restore), the active playbook as
//! ingest sees it, and routing a new case by it.
//!
//! Applying checks the playbook against the workspace's teams first; an invalid playbook is
//! never stored and the active one stays. A valid one becomes a new version, its declared
//! teams are created or updated (by slug) in the same transaction, and it becomes active.
//! Restoring an old version applies its text again as a new version, so the history only
//! grows. The active version is one settings row: every ingest batch reads it, so a playbook
//! applied by the CLI or another node takes effect at the next batch.

use crate::directory::json_list;
use crate::journal::{audit, bad};
use crate::sql::Conn;
use crate::{Actor, Store, StoreError, params};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use switchboard_core::assign::{Agent, Availability, Strategy};
use switchboard_core::playbook::{self, Decision, Facts, Playbook};
use switchboard_core::routing::{TeamState, place};
use switchboard_core::schedule::{BusinessHours, HoursSpec};
use switchboard_core::*;

const ACTIVE_KEY: &str = "playbook.active";

/// One stored version of the playbook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaybookVersion {
    pub version: i64,
    /// SHA-256 of the source, hex.
    pub digest: String,
    /// E.g. `4 teams, 3 rules`.
    pub summary: String,
    pub created_at: Timestamp,
    pub created_by: String,
    /// The version this one restored, if it was a restore.
    pub restored_from: Option<i64>,
    pub active: bool,
    /// The TOML text (left out of lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// The playbook ingest routes by, parsed once per version.
#[derive(Debug)]
pub(crate) struct ActivePlaybook {
    pub version: i64,
    pub playbook: Playbook,
}

/// Caches the parsed active playbook; [`PlaybookCache::current`] checks the version on every
/// call (one primary-key read) and parses again only when it changed.
#[derive(Default)]
pub(crate) struct PlaybookCache(Mutex<Option<Arc<ActivePlaybook>>>);

impl PlaybookCache {
    pub(crate) fn current(
        &self,
        c: &mut dyn Conn,
    ) -> Result<Option<Arc<ActivePlaybook>>, StoreError> {
        let Some(version) = active_version(c)? else {
            return Ok(None);
        };
        if let Ok(guard) = self.0.lock()
            && let Some(active) = guard.as_ref()
            && active.version == version
        {
            return Ok(Some(active.clone()));
        }
        let source = c
            .query_one(
                "SELECT source FROM playbooks WHERE version = $1",
                params![version],
            )?
            .text(0)?;
        let teams = team_slugs(c)?;
        let purposes = crate::purposes::registered(c)?;
        // As stored: a check added since it was applied must not stop routing and replies.
        let playbook = playbook::parse_stored(&source, &teams, &purposes).map_err(|errs| {
            StoreError::Backend(format!(
                "stored playbook version {version} no longer checks: {}",
                errs.first().map(ToString::to_string).unwrap_or_default()
            ))
        })?;
        let active = Arc::new(ActivePlaybook { version, playbook });
        if let Ok(mut guard) = self.0.lock() {
            *guard = Some(active.clone());
        }
        Ok(Some(active))
    }
}

fn active_version(c: &mut dyn Conn) -> Result<Option<i64>, StoreError> {
    c.query_opt(
        "SELECT value FROM settings WHERE key = $1",
        params![ACTIVE_KEY],
    )?
    .map(|r| {
        r.text(0)?
            .parse::<i64>()
            .map_err(|e| StoreError::Backend(format!("{ACTIVE_KEY}: {e}")))
    })
    .transpose()
}

fn team_slugs(c: &mut dyn Conn) -> Result<Vec<String>, StoreError> {
    c.query("SELECT slug FROM teams ORDER BY slug", &[])?
        .iter()
        .map(|r| r.text(0))
        .collect()
}

fn summary(pb: &Playbook) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        plural(pb.teams.len(), "team"),
        plural(pb.rules.len(), "rule")
    )
}

fn version_from_row(
    r: &crate::sql::Row,
    active: Option<i64>,
) -> Result<PlaybookVersion, StoreError> {
    let version = r.int(0)?;
    Ok(PlaybookVersion {
        version,
        digest: r.text(1)?,
        summary: r.text(2)?,
        created_at: Timestamp::from_unix_micros(r.int(3)?),
        created_by: r.text(4)?,
        restored_from: r.opt_int(5)?,
        active: active == Some(version),
        source: None,
    })
}

const VERSION_COLS: &str = "version, digest, summary, created_at, created_by, restored_from";

/// Checks `source` against the teams in the database and installs it as the next version.
fn install(
    c: &mut dyn Conn,
    source: &str,
    restored_from: Option<i64>,
    actor: &Actor,
    now: Timestamp,
) -> Result<PlaybookVersion, StoreError> {
    let pb = playbook::parse_in(source, &team_slugs(c)?, &crate::purposes::registered(c)?)
        .map_err(StoreError::InvalidPlaybook)?;
    let mut purposes_added = Vec::new();
    for p in &pb.purpose_decls {
        if crate::purposes::upsert(c, p, now)? {
            purposes_added.push(p.id.to_string());
        }
    }
    let mut created = Vec::new();
    let mut updated = Vec::new();
    for t in &pb.teams {
        let existing = c.query_opt(
            "SELECT id FROM teams WHERE slug = $1",
            params![t.id.as_str()],
        )?;
        let taken_name = c.query_opt(
            "SELECT slug FROM teams WHERE name = $1 AND slug <> $2",
            params![t.name.as_str(), t.id.as_str()],
        )?;
        if let Some(other) = taken_name {
            return Err(StoreError::Conflict(format!(
                "team {:?} is named {:?}, but team {:?} already has that name",
                t.id,
                t.name,
                other.text(0)?
            )));
        }
        let capacity = t.capacity.map(i64::from);
        let hours = t
            .hours
            .as_ref()
            .map(|h| serde_json::to_string(h).map_err(|e| StoreError::Backend(e.to_string())))
            .transpose()?;
        match existing {
            Some(r) => {
                c.execute(
                    "UPDATE teams SET name = $1, strategy = $2, capacity = $3, hours = $4 WHERE id = $5",
                    params![t.name.as_str(), t.strategy.as_str(), capacity, hours, r.text(0)?],
                )?;
                updated.push(t.id.clone());
            }
            None => {
                let id = TeamId::new_at(now);
                c.execute(
                    "INSERT INTO teams (id, name, created_at, slug, strategy, capacity, hours) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    params![
                        id.to_string(),
                        t.name.as_str(),
                        now.as_unix_micros(),
                        t.id.as_str(),
                        t.strategy.as_str(),
                        capacity,
                        hours
                    ],
                )?;
                created.push(t.id.clone());
            }
        }
    }
    for t in &pb.teams {
        let overflow = match &t.overflow {
            Some(slug) => Some(
                c.query_one(
                    "SELECT id FROM teams WHERE slug = $1",
                    params![slug.as_str()],
                )?
                .text(0)?,
            ),
            None => None,
        };
        c.execute(
            "UPDATE teams SET overflow_team_id = $1 WHERE slug = $2",
            params![overflow, t.id.as_str()],
        )?;
    }
    let version = c
        .query_one("SELECT COALESCE(MAX(version), 0) + 1 FROM playbooks", &[])?
        .int(0)?;
    let digest = hex::encode(Sha256::digest(source.as_bytes()));
    let summary = summary(&pb);
    c.execute(
        "INSERT INTO playbooks (version, source, digest, summary, created_at, created_by, restored_from) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![
            version,
            source,
            digest.as_str(),
            summary.as_str(),
            now.as_unix_micros(),
            actor.name(),
            restored_from
        ],
    )?;
    c.execute(
        "INSERT INTO settings (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![ACTIVE_KEY, version.to_string()],
    )?;
    audit(
        c,
        actor,
        if restored_from.is_some() {
            "playbook.restored"
        } else {
            "playbook.applied"
        },
        ("playbook", version.to_string()),
        json!({
            "version": version,
            "digest": digest,
            "summary": summary,
            "restored_from": restored_from,
            "teams_created": created,
            "teams_updated": updated,
            "purposes_created": purposes_added,
        }),
        now,
    )?;
    Ok(PlaybookVersion {
        version,
        digest,
        summary,
        created_at: now,
        created_by: actor.name(),
        restored_from,
        active: true,
        source: Some(source.to_owned()),
    })
}

impl Store {
    /// Checks a playbook against the workspace's teams without installing it.
    pub async fn check_playbook(&self, source: String) -> Result<Playbook, StoreError> {
        self.pool
            .read(move |c| {
                playbook::parse_in(&source, &team_slugs(c)?, &crate::purposes::registered(c)?)
                    .map_err(StoreError::InvalidPlaybook)
            })
            .await
    }

    /// Installs `source` as the next version and makes it active. An invalid playbook is
    /// refused with every problem ([`StoreError::InvalidPlaybook`]) and changes nothing.
    pub async fn apply_playbook(
        &self,
        source: String,
        actor: Actor,
        now: Timestamp,
    ) -> Result<PlaybookVersion, StoreError> {
        self.pool
            .write(move |c| install(c, &source, None, &actor, now))
            .await
    }

    /// Applies an old version's text again, as a new version.
    pub async fn restore_playbook(
        &self,
        version: i64,
        actor: Actor,
        now: Timestamp,
    ) -> Result<PlaybookVersion, StoreError> {
        self.pool
            .write(move |c| {
                let source = c
                    .query_opt(
                        "SELECT source FROM playbooks WHERE version = $1",
                        params![version],
                    )?
                    .ok_or(StoreError::NotFound)?
                    .text(0)?;
                // A copy of the version in force would change nothing but the history.
                if active_version(c)? == Some(version) {
                    return Err(StoreError::Conflict(format!(
                        "version {version} is the playbook in force already; nothing to restore"
                    )));
                }
                install(c, &source, Some(version), &actor, now)
            })
            .await
    }

    /// Every version, newest first, without their text.
    pub async fn list_playbooks(&self) -> Result<Vec<PlaybookVersion>, StoreError> {
        self.pool
            .read(|c| {
                let active = active_version(c)?;
                c.query(
                    &format!("SELECT {VERSION_COLS} FROM playbooks ORDER BY version DESC"),
                    &[],
                )?
                .iter()
                .map(|r| version_from_row(r, active))
                .collect()
            })
            .await
    }

    /// One version with its text; `None` asks for the active one.
    pub async fn playbook(&self, version: Option<i64>) -> Result<PlaybookVersion, StoreError> {
        self.pool
            .read(move |c| {
                let active = active_version(c)?;
                let version = version.or(active).ok_or(StoreError::NotFound)?;
                let r = c
                    .query_opt(
                        &format!("SELECT {VERSION_COLS}, source FROM playbooks WHERE version = $1"),
                        params![version],
                    )?
                    .ok_or(StoreError::NotFound)?;
                let mut v = version_from_row(&r, active)?;
                v.source = Some(r.text(6)?);
                Ok(v)
            })
            .await
    }
}

// ----- routing a new case --------------------------------------------------------------------

/// What routing decided for a new case, ready to store.
pub(crate) struct Routed {
    pub purpose: Purpose,
    pub team: Option<TeamId>,
    pub assignee: Option<UserId>,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub skills: Vec<String>,
    pub approval_team: Option<TeamId>,
    pub escalated: bool,
    /// Notify hooks to tell about the new case.
    pub notify: Vec<String>,
    /// A rule lets Switchboard answer the first message on its own.
    pub auto_answer: Option<switchboard_core::playbook::AutoAnswer>,
    /// Stored on the case and in the audit log: which rules fired and why, where it landed.
    pub record: serde_json::Value,
}

/// A team's business hours as stored (JSON of the playbook's `[team.hours]`); `None`: always.
pub(crate) fn team_hours(stored: Option<String>) -> Result<BusinessHours, StoreError> {
    match stored {
        None => Ok(BusinessHours::always()),
        Some(json) => {
            let spec: HoursSpec = serde_json::from_str(&json)
                .map_err(|e| StoreError::Backend(format!("stored team hours: {e}")))?;
            BusinessHours::from_spec(&spec)
                .map_err(|e| StoreError::Backend(format!("stored team hours: {e}")))
        }
    }
}

fn team_state(
    c: &mut dyn Conn,
    slug: &str,
    now: Timestamp,
) -> Result<Option<(TeamId, TeamState)>, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT t.id, t.strategy, t.capacity, o.slug, t.last_assigned_id, t.hours \
         FROM teams t LEFT JOIN teams o ON o.id = t.overflow_team_id WHERE t.slug = $1",
        params![slug],
    )?
    else {
        return Ok(None);
    };
    let id = TeamId::parse(&r.text(0)?).map_err(bad)?;
    let agents = c
        .query(
            "SELECT u.id, u.availability, m.skills, u.last_assigned_at, \
             (SELECT COUNT(*) FROM cases k WHERE k.assignee_id = u.id AND k.status NOT IN ('resolved', 'closed')) \
             FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 AND u.active = $2",
            params![id.to_string(), true],
        )?
        .iter()
        .map(|a| {
            Ok(Agent {
                id: UserId::parse(&a.text(0)?).map_err(bad)?,
                availability: Availability::parse(&a.text(1)?).map_err(bad)?,
                skills: json_list(&a.text(2)?)?,
                last_assigned_at: a.opt_int(3)?.map(Timestamp::from_unix_micros),
                open_cases: a.int(4)?.clamp(0, u32::MAX as i64) as u32,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some((
        id,
        TeamState {
            slug: slug.to_owned(),
            strategy: Strategy::parse(&r.text(1)?).map_err(bad)?,
            capacity: r.opt_int(2)?.map(|n| n.clamp(0, u32::MAX as i64) as u32),
            overflow: r.opt_text(3)?,
            open_now: team_hours(r.opt_text(5)?)?.is_open(now),
            agents,
            last_assigned: r
                .opt_text(4)?
                .map(|s| UserId::parse(&s))
                .transpose()
                .map_err(bad)?,
        },
    )))
}

/// A team's state by id (for transfers).
pub(crate) fn team_state_by_id(
    c: &mut dyn Conn,
    id: TeamId,
    now: Timestamp,
) -> Result<TeamState, StoreError> {
    let slug = c
        .query_one(
            "SELECT slug FROM teams WHERE id = $1",
            params![id.to_string()],
        )?
        .text(0)?;
    team_state(c, &slug, now)?
        .map(|(_, s)| s)
        .ok_or(StoreError::NotFound)
}

pub(crate) fn team_id_by_slug(c: &mut dyn Conn, slug: &str) -> Result<Option<TeamId>, StoreError> {
    team_id(c, slug)
}

fn team_id(c: &mut dyn Conn, slug: &str) -> Result<Option<TeamId>, StoreError> {
    c.query_opt("SELECT id FROM teams WHERE slug = $1", params![slug])?
        .map(|r| TeamId::parse(&r.text(0)?).map_err(bad))
        .transpose()
}

/// Evaluates the playbook for a new case's first message and places the case.
pub(crate) fn route(
    c: &mut dyn Conn,
    active: &ActivePlaybook,
    facts: &Facts,
    now: Timestamp,
) -> Result<Routed, StoreError> {
    let mut facts = facts.clone();
    facts.in_business_hours = Some(active.playbook.hours.is_open(now));
    let Decision { actions, fired } = active.playbook.evaluate(&facts);
    let mut notes = Vec::new();

    // A named assignee wins over the team's strategy, if they exist and are active.
    let named = match &actions.assignee {
        Some(username) => {
            let found = c
                .query_opt(
                    "SELECT id FROM users WHERE username = $1 AND active = $2",
                    params![username.as_str(), true],
                )?
                .map(|r| UserId::parse(&r.text(0)?).map_err(bad))
                .transpose()?;
            if found.is_none() {
                notes.push(format!("assignee {username:?} is not an active user"));
            }
            found
        }
        None => None,
    };
    let mut failure = None;
    let mut ids = std::collections::BTreeMap::new();
    let mut placement = if named.is_some() {
        switchboard_core::routing::Placement {
            team: actions.team.clone(),
            assignee: named,
            ..Default::default()
        }
    } else {
        place(
            actions.team.as_deref(),
            &actions.skills,
            |slug| match team_state(c, slug, now) {
                Ok(Some((id, state))) => {
                    ids.insert(slug.to_owned(), id);
                    Some(state)
                }
                Ok(None) => None,
                Err(e) => {
                    failure.get_or_insert(e);
                    None
                }
            },
        )
    };
    if let Some(e) = failure {
        return Err(e);
    }
    let team = match &placement.team {
        Some(slug) => match ids.get(slug) {
            Some(id) => Some(*id),
            None => team_id(c, slug)?,
        },
        None => None,
    };
    // The person must still be active when the case is given to them. This update takes
    // their row's lock: a deactivation running at the same time either committed first (then
    // no row matches, and the case stays with the team) or waits for this transaction and then
    // hands the case back with the person's others.
    if let Some(user) = placement.assignee {
        let still_active = c.execute(
            "UPDATE users SET last_assigned_at = $1 WHERE id = $2 AND active = $3",
            params![now.as_unix_micros(), user.to_string(), true],
        )? == 1;
        if !still_active {
            notes.push(format!("assignee {user} was deactivated meanwhile"));
            placement.assignee = None;
        }
    }
    if let (Some(team), Some(user)) = (team, placement.assignee) {
        c.execute(
            "UPDATE teams SET last_assigned_id = $1 WHERE id = $2",
            params![user.to_string(), team.to_string()],
        )?;
    }
    let approval_team = match &actions.require_approval {
        Some(slug) => team_id(c, slug)?,
        None => None,
    };
    let record = json!({
        "playbook_version": active.version,
        "at": now,
        "fired": fired.iter().map(|f| json!({"rule": f.rule, "line": f.line, "reasons": f.reasons})).collect::<Vec<_>>(),
        "decided": {
            "purpose": actions.purpose,
            "team": actions.team,
            "assignee": actions.assignee,
            "priority": actions.priority.map(|p| p.as_str()),
            "tags": actions.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            "skills": actions.skills,
            "require_approval": actions.require_approval,
            "auto_answer": match &actions.auto_answer {
                Some(Some(policy)) => json!(policy),
                Some(None) => json!(false),
                None => json!(null),
            },
            "notify": actions.notify,
            "escalate": actions.escalate,
        },
        "placement": placement,
        "notes": notes,
    });
    Ok(Routed {
        // No rule set a purpose: the understood one, else Tier 1.
        purpose: actions
            .purpose
            .or_else(|| facts.purpose.as_ref().map(|(p, _)| p.clone()))
            .unwrap_or_else(Purpose::tier1),
        team,
        assignee: placement.assignee,
        priority: actions.priority.unwrap_or(Priority::Normal),
        tags: actions.tags.iter().map(|t| t.as_str().to_owned()).collect(),
        skills: actions.skills,
        approval_team,
        escalated: actions.escalate.unwrap_or(false),
        notify: actions.notify,
        auto_answer: actions.auto_answer.flatten(),
        record,
    })
}

/// The purpose the understanding step found, unless it was unsure (`unknown`) or it is not
/// one of the built-in purposes (the only ones its model knows).
pub(crate) fn understood_purpose(u: Option<&Understood>) -> Option<Purpose> {
    u?.purpose
        .as_ref()
        .and_then(|p| Purpose::parse(&p.label).ok())
        .filter(Purpose::is_built_in)
}

/// The facts the understanding step gives (intent, purpose, sentiment, language); the rest
/// default.
pub(crate) fn understood_facts(understood: Option<&Understood>) -> Facts {
    Facts {
        intent: understood
            .and_then(|u| u.intent.as_ref())
            .map(|i| (i.label.clone(), f64::from(i.confidence))),
        purpose: understood_purpose(understood).zip(
            understood
                .and_then(|u| u.purpose.as_ref())
                .map(|p| f64::from(p.confidence)),
        ),
        sentiment: understood
            .and_then(|u| u.sentiment.as_ref())
            .and_then(|s| playbook::Sentiment::parse(&s.label)),
        language: understood.and_then(|u| u.language.clone()),
        personal_data: understood
            .map(|u| {
                u.personal_data
                    .iter()
                    .flat_map(|p| std::iter::once(p.kind.clone()).chain(p.scheme.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        ..Facts::default()
    }
}

/// What the playbook can know about a new case's first message, from the database and the
/// understanding step.
pub(crate) fn facts(
    c: &mut dyn Conn,
    channel: ChannelId,
    channel_kind: &str,
    contact: ContactId,
    m: &InboundMessage,
    understood: Option<&Understood>,
) -> Result<Facts, StoreError> {
    let channel_name = c
        .query_opt(
            "SELECT name FROM channels WHERE id = $1",
            params![channel.to_string()],
        )?
        .map(|r| r.text(0))
        .transpose()?
        .unwrap_or_default();
    let (tags, open_cases) = match c.query_opt(
        "SELECT tags, (SELECT COUNT(*) FROM cases k WHERE k.contact_id = $1 AND k.status NOT IN ('resolved', 'closed')) \
         FROM contacts WHERE id = $1",
        params![contact.to_string()],
    )? {
        Some(r) => (json_list(&r.text(0)?)?, r.int(1)?),
        None => (vec![], 0),
    };
    Ok(Facts {
        channel_id: channel.to_string(),
        channel_name,
        channel_kind: channel_kind.to_owned(),
        public: m.public,
        text: m.text.clone(),
        author_tags: tags,
        followers: m.author.followers,
        verified: m.author.verified.unwrap_or(false),
        open_cases: open_cases.clamp(0, u32::MAX as i64) as u32,
        ..understood_facts(understood)
    })
}

// ----- SLA view --------------------------------------------------------------------------------

/// A case's SLA as the active playbook defines it, at one instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlaView {
    /// The `[[sla]]` policy that applies (the first matching purpose and priority).
    pub policy: String,
    pub targets: Vec<switchboard_core::sla::TargetState>,
}

/// The SLA targets of `case` at `now`, counted in its team's business hours; `None` when no
/// playbook is active or no policy matches.
pub(crate) fn case_sla(
    c: &mut dyn Conn,
    cache: &PlaybookCache,
    case: &crate::Case,
    messages: &[crate::Message],
    now: Timestamp,
) -> Result<Option<SlaView>, StoreError> {
    let Some(active) = cache.current(c)? else {
        return Ok(None);
    };
    let Some(policy) =
        switchboard_core::sla::select(&active.playbook.slas, &case.purpose, case.priority)
    else {
        return Ok(None);
    };
    let hours = match case.team {
        Some(t) => team_hours(
            c.query_opt(
                "SELECT hours FROM teams WHERE id = $1",
                params![t.to_string()],
            )?
            .and_then(|r| r.opt_text(0).ok().flatten()),
        )?,
        None => BusinessHours::always(),
    };
    // The customer waits from their last message that no sent reply came after.
    let answered = |m: &&crate::Message| {
        m.direction == Direction::Outbound
            && !matches!(
                m.delivery_state,
                DeliveryState::PendingApproval | DeliveryState::Rejected
            )
    };
    let last_reply = messages.iter().filter(answered).map(|m| m.created_at).max();
    let awaiting_since = messages
        .iter()
        .filter(|m| {
            m.direction == Direction::Inbound && last_reply.is_none_or(|r| m.created_at > r)
        })
        .map(|m| m.created_at)
        .min();
    let clock = switchboard_core::sla::CaseClock {
        created_at: case.created_at,
        first_response_at: case.first_response_at,
        awaiting_since,
        resolved_at: case.resolved_at,
        paused_micros: crate::lifecycle::paused_micros(c, case.id, now)?,
    };
    Ok(Some(SlaView {
        policy: policy.name.clone(),
        targets: switchboard_core::sla::evaluate(policy, &hours, &clock, now),
    }))
}

impl Store {
    /// A case, its messages, and its SLA targets at `now`.
    pub async fn case_at(
        &self,
        id: CaseId,
        now: Timestamp,
    ) -> Result<(crate::CaseDetail, Option<SlaView>), StoreError> {
        let cache = self.playbooks.clone();
        self.pool
            .read(move |c| {
                let detail = crate::CaseDetail {
                    case: crate::cases::case_by_id(c, id)?,
                    messages: crate::cases::case_messages(c, id)?,
                    auto_answer: crate::auto_answer::record_of(c, id)?,
                };
                let sla = case_sla(c, &cache, &detail.case, &detail.messages, now)?;
                Ok((detail, sla))
            })
            .await
    }
}
