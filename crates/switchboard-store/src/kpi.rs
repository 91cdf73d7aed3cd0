//! The facts KPI reports add up: every case whose customer wrote in the range, with its
//! messages' times, read in two passes (cases, then their messages in case order) and handed
//! to `core::kpi`, which owns every definition. Merged-away cases are left out: their messages
//! count on the case they joined.

use crate::sql::{Backend, Conn};
use crate::{Store, StoreError, params};
use std::collections::HashMap;
use switchboard_core::Timestamp;
use switchboard_core::kpi::{
    self, ApprovalFact, CaseFacts, KpiRow, MessageFact, ReportSpec, Sentiment, Side, SlaOutcome,
};
use switchboard_core::schedule::BusinessHours;
use switchboard_core::sla::{self, SlaPolicy, Target};
use switchboard_core::{Priority, Purpose};

/// What a report's rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Purpose,
    Team,
    Channel,
    /// The case's assignee.
    Agent,
    /// The language of the customer's first message.
    Language,
    /// The channel's kind (x, whatsapp, email…).
    ChannelKind,
    /// One group for everything.
    Nothing,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "purpose" => Self::Purpose,
            "team" => Self::Team,
            "channel" => Self::Channel,
            "agent" => Self::Agent,
            "language" => Self::Language,
            "channel_kind" => Self::ChannelKind,
            "none" | "all" => Self::Nothing,
            _ => return None,
        })
    }

    pub const NAMES: &'static str = "purpose, team, channel, channel_kind, agent, language, none";
}

/// A report to compute.
#[derive(Debug, Clone)]
pub struct KpiQuery {
    pub from: Timestamp,
    pub until: Timestamp,
    pub bucket: kpi::Bucket,
    /// An IANA time zone for the buckets.
    pub tz: kpi::TimeZone,
    pub group_by: GroupBy,
}

/// Cases with a customer's message in `[$1, $2)`.
const IN_RANGE: &str =
    "SELECT case_id FROM messages WHERE direction = 'inbound' AND sent_at >= $1 AND sent_at < $2";

impl Store {
    /// The KPI rows of `q` (see `switchboard_core::kpi` for every definition).
    pub async fn kpi_report(&self, q: KpiQuery) -> Result<Vec<KpiRow>, StoreError> {
        let playbooks = self.playbooks.clone();
        self.pool
            .read(move |c| {
                let policies = playbooks
                    .current(c)?
                    .map(|p| p.playbook.slas.clone())
                    .unwrap_or_default();
                let (cases, hours) = facts(c, &q, &policies)?;
                Ok(kpi::report(
                    &ReportSpec {
                        from: q.from,
                        until: q.until,
                        bucket: q.bucket,
                        tz: q.tz.clone(),
                        hours,
                    },
                    &cases,
                ))
            })
            .await
    }
}

fn facts(
    c: &mut dyn Conn,
    q: &KpiQuery,
    policies: &[SlaPolicy],
) -> Result<(Vec<CaseFacts>, Vec<BusinessHours>), StoreError> {
    let pg = c.backend() == Backend::Postgres;
    // `->` and `->>` read JSON alike on both engines (and a `$` path would clash with the
    // placeholders SQLite's rewrite looks for).
    let tags = if pg { "c.tags::text" } else { "c.tags" };
    let sentiment = "m.understanding -> 'sentiment' ->> 'label'";
    let language = "m.understanding ->> 'language'";
    let range = params![q.from.as_unix_micros(), q.until.as_unix_micros()];

    // Teams' business hours, by team id: an index into `hours`.
    let mut hours = Vec::new();
    let mut hours_of: HashMap<String, usize> = HashMap::new();
    for r in c
        .query("SELECT id, hours FROM teams WHERE hours IS NOT NULL", &[])?
        .iter()
    {
        hours.push(crate::routing::team_hours(r.opt_text(1)?)?);
        hours_of.insert(r.text(0)?, hours.len() - 1);
    }

    let group_col = match q.group_by {
        GroupBy::Purpose => "c.purpose",
        GroupBy::Team => "t.name",
        GroupBy::Channel => "ch.name",
        GroupBy::ChannelKind => "ch.kind",
        GroupBy::Agent => "u.display_name",
        GroupBy::Language | GroupBy::Nothing => "NULL",
    };
    let sql = format!(
        "SELECT c.id, {group_col}, v.public, c.status, c.resolved_at, c.reopen_count, c.resolution, {tags}, \
         c.team_id, a.case_id, c.priority, c.sla_fired, c.expert_micros, c.purpose, \
         c.csat_state, c.csat_score, c.csat_message_id \
         FROM cases c JOIN conversations v ON v.id = c.conversation_id JOIN channels ch ON ch.id = v.channel_id \
         LEFT JOIN teams t ON t.id = c.team_id LEFT JOIN users u ON u.id = c.assignee_id \
         LEFT JOIN auto_answers a ON a.case_id = c.id \
         WHERE c.merged_into IS NULL AND c.id IN ({IN_RANGE})"
    );
    let mut cases: Vec<CaseFacts> = Vec::new();
    // The survey questions: Switchboard's messages, but no reply to the customer.
    let mut surveys: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for r in c.query(&sql, range)?.iter() {
        let status = r.text(3)?;
        let resolved = matches!(status.as_str(), "resolved" | "closed");
        let tags: Vec<String> =
            serde_json::from_str(&r.text(7)?).map_err(|e| StoreError::Backend(e.to_string()))?;
        let tagged = |t: &str| tags.iter().any(|x| x == t);
        let id = r.text(0)?;
        let purpose = Purpose::parse(&r.text(13)?).ok();
        let priority = Priority::parse(&r.text(10)?).ok();
        let sla = match (&purpose, priority) {
            (Some(p), Some(pr)) => sla::select(policies, p, pr).map(|policy| {
                let fired: Vec<String> = serde_json::from_str(&r.text(11)?).unwrap_or_default();
                let breached = |t: Target| {
                    let prefix = format!("{t}:breached:");
                    fired.iter().any(|k| k.starts_with(&prefix))
                };
                Ok::<_, StoreError>(SlaOutcome {
                    policy: policy.name.clone(),
                    first_response_target: policy.target(Target::FirstResponse).is_some(),
                    resolution_target: policy.target(Target::Resolution).is_some(),
                    first_response_breached: breached(Target::FirstResponse),
                    resolution_breached: breached(Target::Resolution),
                })
            }),
            _ => None,
        }
        .transpose()?;
        index.insert(id.clone(), cases.len());
        cases.push(CaseFacts {
            group: r.opt_text(1)?,
            public: r.bool(2)?,
            messages: Vec::new(),
            resolved_at: if resolved {
                r.opt_int(4)?.map(Timestamp::from_unix_micros)
            } else {
                None
            },
            reopened: r.int(5)? > 0,
            deflected: r.opt_text(6)?.as_deref() == Some("deflected"),
            auto_answer_tried: r.opt_text(9)?.is_some(),
            lead: tagged("lead"),
            won: tagged("won"),
            lost: tagged("lost"),
            hours: r.opt_text(8)?.and_then(|t| hours_of.get(&t).copied()),
            crisis: purpose.as_ref().is_some_and(|p| p.as_str() == "crisis"),
            sla,
            expert_micros: r.int(12)?,
            referred_to: None,
            approvals: Vec::new(),
            csat: r
                .opt_text(14)?
                .map(|_| Ok::<_, StoreError>(r.opt_int(15)?.and_then(|v| u8::try_from(v).ok())))
                .transpose()?,
        });
        if let Some(survey) = r.opt_text(16)? {
            surveys.insert(survey);
        }
    }

    // Referrals (the last one of a case counts) and reviewers' decisions, from the audit log.
    let team_names: HashMap<String, String> = c
        .query("SELECT id, name FROM teams", &[])?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?)))
        .collect::<Result<_, StoreError>>()?;
    for r in c
        .query(
            "SELECT subject_id, details FROM audit_log WHERE action = 'case.referred' ORDER BY seq",
            &[],
        )?
        .iter()
    {
        if let Some(&i) = index.get(&r.text(0)?) {
            let details: serde_json::Value = serde_json::from_str(&r.text(1)?).unwrap_or_default();
            let team = details["team"].as_str().unwrap_or_default();
            cases[i].referred_to = Some(
                team_names
                    .get(team)
                    .cloned()
                    .unwrap_or_else(|| team.to_owned()),
            );
        }
    }
    let decided: HashMap<String, i64> = c
        .query(
            "SELECT subject_id, at FROM audit_log WHERE action IN ('message.approved', 'message.rejected')",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.text(0)?, r.int(1)?)))
        .collect::<Result<_, StoreError>>()?;

    let sql = format!(
        "SELECT m.case_id, m.direction, m.author_kind, m.sent_at, m.created_at, m.delivery_state, {sentiment}, {language}, \
         m.id, m.review_team_id, \
         CASE WHEN m.direction = 'inbound' THEN (SELECT MAX(i.followers) FROM identities i \
           WHERE i.contact_id = m.contact_id AND i.channel_id = m.channel_id) END \
         FROM messages m WHERE m.direction <> 'note' AND m.case_id IN (\
         SELECT c.id FROM cases c WHERE c.merged_into IS NULL AND c.id IN ({IN_RANGE}))"
    );
    for r in c.query(&sql, range)?.iter() {
        let Some(&i) = index.get(&r.text(0)?) else {
            continue;
        };
        if surveys.contains(&r.text(8)?) {
            continue;
        }
        let side = match (r.text(1)?.as_str(), r.text(2)?.as_str()) {
            ("inbound", _) => Side::Customer,
            (_, "system") => Side::Automatic,
            _ => Side::Person,
        };
        let delivered = !matches!(
            r.text(5)?.as_str(),
            "pending_approval" | "rejected" | "failed"
        );
        let sent_at = Timestamp::from_unix_micros(r.int(3)?);
        let stored_at = Timestamp::from_unix_micros(r.int(4)?);
        let case = &mut cases[i];
        if r.opt_text(9)?.is_some() {
            let state = r.text(5)?;
            case.approvals.push(ApprovalFact {
                waited: decided
                    .get(&r.text(8)?)
                    .map(|&at| at - stored_at.as_unix_micros()),
                rejected: state == "rejected",
            });
        }
        if side == Side::Customer && q.group_by == GroupBy::Language {
            // The first customer message's language (earliest sent).
            let earliest = case
                .messages
                .iter()
                .filter(|m| m.side == Side::Customer)
                .all(|m| m.sent_at > sent_at);
            if earliest {
                case.group = r.opt_text(7)?;
            }
        }
        case.messages.push(MessageFact {
            side,
            sent_at,
            stored_at,
            delivered,
            sentiment: r.opt_text(6)?.as_deref().and_then(Sentiment::parse),
            followers: r.opt_int(10)?,
        });
    }
    Ok((cases, hours))
}
