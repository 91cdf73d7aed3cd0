//! The facts KPI reports add up: every case whose customer wrote in the range, with its
//! messages' times, handed to `core::kpi`, which owns every definition. Cases and messages are
//! read at once on two reader connections (each one streaming scan of its table), then joined
//! by case id. Merged-away cases are left out: their messages count on the case they joined.

use crate::sql::{Backend, Conn, Value};
use crate::{Store, StoreError, params};
use std::collections::{HashMap, HashSet};
use switchboard_core::Timestamp;
use switchboard_core::kpi::{
    self, ApprovalFact, CaseFacts, KpiRow, MessageFact, ReportSpec, Sentiment, Side, SlaOutcome,
};
use switchboard_core::schedule::BusinessHours;
use switchboard_core::sla::{self, SlaPolicy, Target};
use switchboard_core::{Priority, Purpose};

/// A fast hash for the report's maps from case ids (UUIDs this store wrote, so no one can
/// choose keys that collide on purpose): a multiply-rotate over 8 bytes at a time.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type IdMap<V> = HashMap<String, V, std::hash::BuildHasherDefault<IdHasher>>;
type IdSet = HashSet<String, std::hash::BuildHasherDefault<IdHasher>>;

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
    /// The intent understood in the customer's first message (or an agent's correction).
    Intent,
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
            "intent" => Self::Intent,
            "channel_kind" => Self::ChannelKind,
            "none" | "all" => Self::Nothing,
            _ => return None,
        })
    }

    pub const NAMES: &'static str =
        "purpose, team, channel, channel_kind, agent, language, intent, none";
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
        let (qc, qm) = (q.clone(), q.clone());
        let (cases, messages) = tokio::try_join!(
            self.pool.read(move |c| {
                let policies = playbooks
                    .current(c)?
                    .map(|p| p.playbook.slas.clone())
                    .unwrap_or_default();
                read_cases(c, &qc, &policies)
            }),
            self.pool.read(move |c| read_messages(c, &qm)),
        )?;
        tokio::task::spawn_blocking(move || {
            let CasesRead {
                mut cases,
                index,
                surveys,
                hours,
            } = cases;
            join(&mut cases, &index, &surveys, messages, q.group_by);
            kpi::report(
                &ReportSpec {
                    from: q.from,
                    until: q.until,
                    bucket: q.bucket,
                    tz: q.tz,
                    hours,
                },
                &cases,
            )
        })
        .await
        .map_err(|e| StoreError::Backend(format!("the report stopped: {e}")))
    }
}

/// The cases of a report, and how to find them by id.
struct CasesRead {
    cases: Vec<CaseFacts>,
    index: IdMap<usize>,
    /// The ids of survey questions (Switchboard's messages, but no reply to the customer).
    surveys: IdSet,
    hours: Vec<BusinessHours>,
}

/// One message as read, before it meets its case.
struct MessageRead {
    case_id: String,
    fact: MessageFact,
    /// Set for a reply that needed approval, or Switchboard's own message.
    id: Option<String>,
    reviewed: bool,
    rejected: bool,
    /// Minutes from writing to a reviewer's decision, if one was made.
    decided_after: Option<i64>,
    language: Option<String>,
}

/// A range that holds every customer message needs no filter (a whole-history report reads
/// each table once); a narrower one picks its cases through the index on the customers'
/// messages' times. Returns the filter's SQL for `column` and its parameters.
fn range_filter(
    c: &mut dyn Conn,
    q: &KpiQuery,
    column: &str,
) -> Result<(String, Vec<Value>), StoreError> {
    let span = c.query_one(
        "SELECT MIN(sent_at), MAX(sent_at) FROM messages WHERE direction = 'inbound'",
        &[],
    )?;
    let everything = match (span.opt_int(0)?, span.opt_int(1)?) {
        (Some(first), Some(last)) => {
            first >= q.from.as_unix_micros() && last < q.until.as_unix_micros()
        }
        _ => true,
    };
    Ok(if everything {
        (String::new(), Vec::new())
    } else {
        (
            format!(" AND {column} IN ({IN_RANGE})"),
            params![q.from.as_unix_micros(), q.until.as_unix_micros()].to_vec(),
        )
    })
}

fn read_cases(
    c: &mut dyn Conn,
    q: &KpiQuery,
    policies: &[SlaPolicy],
) -> Result<CasesRead, StoreError> {
    let pg = c.backend() == Backend::Postgres;
    let tags = if pg { "c.tags::text" } else { "c.tags" };

    // The small tables, read whole: names for the groups, business hours.
    let mut hours = Vec::new();
    let mut team_name: HashMap<String, String> = HashMap::new();
    let mut hours_of: HashMap<String, usize> = HashMap::new();
    for r in c.query("SELECT id, name, hours FROM teams", &[])?.iter() {
        let id = r.text(0)?;
        if let Some(h) = r.opt_text(2)? {
            hours.push(crate::routing::team_hours(Some(h))?);
            hours_of.insert(id.clone(), hours.len() - 1);
        }
        team_name.insert(id, r.text(1)?);
    }
    let channels: HashMap<String, (String, String)> = c
        .query("SELECT id, name, kind FROM channels", &[])?
        .iter()
        .map(|r| Ok((r.text(0)?, (r.text(1)?, r.text(2)?))))
        .collect::<Result<_, StoreError>>()?;
    let user_name: HashMap<String, String> = c
        .query("SELECT id, display_name FROM users", &[])?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?)))
        .collect::<Result<_, StoreError>>()?;
    let (filter, args) = range_filter(c, q, "c.id")?;
    // Only the range's cases' automatic answers.
    let (answers_in_range, answer_args) = range_filter(c, q, "case_id")?;
    let auto_answered: IdSet = c
        .query(
            &format!("SELECT case_id FROM auto_answers WHERE 1 = 1{answers_in_range}"),
            &answer_args,
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, StoreError>>()?;

    // Flags computed by the database, so a row carries few strings; the ids and texts a
    // report does not need this time are left out.
    let like = |tag: &str| format!("CASE WHEN {tags} LIKE '%\"{tag}\"%' THEN 1 ELSE 0 END");
    let need_sla = !policies.is_empty();
    let need_team = !hours.is_empty() || q.group_by == GroupBy::Team;
    let sql = format!(
        "SELECT c.id, c.purpose, v.public, {channel}, \
         CASE WHEN c.status IN ('resolved', 'closed') THEN c.resolved_at END, c.reopen_count, \
         CASE WHEN c.resolution = 'deflected' THEN 1 ELSE 0 END, {lead}, {won}, {lost}, \
         {team}, {assignee}, {priority}, {fired}, c.expert_micros, \
         c.csat_state, c.csat_score, c.csat_message_id \
         FROM cases c JOIN conversations v ON v.id = c.conversation_id \
         WHERE c.merged_into IS NULL{filter}",
        channel = if matches!(q.group_by, GroupBy::Channel | GroupBy::ChannelKind) {
            "v.channel_id"
        } else {
            "NULL"
        },
        lead = like("lead"),
        won = like("won"),
        lost = like("lost"),
        team = if need_team { "c.team_id" } else { "NULL" },
        assignee = if q.group_by == GroupBy::Agent {
            "c.assignee_id"
        } else {
            "NULL"
        },
        priority = if need_sla { "c.priority" } else { "NULL" },
        fired = match (need_sla, pg) {
            (false, _) => "NULL",
            (true, true) => {
                "CASE WHEN c.sla_fired::text LIKE '%breached%' THEN c.sla_fired::text END"
            }
            (true, false) => "CASE WHEN c.sla_fired LIKE '%breached%' THEN c.sla_fired END",
        },
    );
    let mut cases: Vec<CaseFacts> = Vec::new();
    let mut index = IdMap::default();
    let mut surveys = IdSet::default();
    c.query_each(&sql, &args, &mut |r| {
        let id = r.text(0)?;
        let purpose_text = r.text(1)?;
        let channel = r.opt_text(3)?;
        let team = r.opt_text(10)?;
        let purpose = Purpose::parse(&purpose_text).ok();
        let sla = match (&purpose, r.opt_text(12)?) {
            (Some(p), Some(pr)) => match Priority::parse(&pr) {
                Ok(pr) => sla::select(policies, p, pr)
                    .map(|policy| {
                        let fired: Vec<String> = match r.opt_text(13)? {
                            Some(f) => serde_json::from_str(&f).unwrap_or_default(),
                            None => Vec::new(),
                        };
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
                    })
                    .transpose()?,
                Err(_) => None,
            },
            _ => None,
        };
        let group = match q.group_by {
            GroupBy::Purpose => Some(purpose_text),
            GroupBy::Team => team.as_ref().and_then(|t| team_name.get(t).cloned()),
            GroupBy::Channel => channel
                .as_ref()
                .and_then(|c| channels.get(c))
                .map(|c| c.0.clone()),
            GroupBy::ChannelKind => channel
                .as_ref()
                .and_then(|c| channels.get(c))
                .map(|c| c.1.clone()),
            GroupBy::Agent => r.opt_text(11)?.and_then(|u| user_name.get(&u).cloned()),
            GroupBy::Language | GroupBy::Intent | GroupBy::Nothing => None,
        };
        if let Some(survey) = r.opt_text(17)? {
            surveys.insert(survey);
        }
        cases.push(CaseFacts {
            group,
            public: r.bool(2)?,
            messages: Vec::new(),
            resolved_at: r.opt_int(4)?.map(Timestamp::from_unix_micros),
            reopened: r.int(5)? > 0,
            deflected: r.bool(6)?,
            auto_answer_tried: !auto_answered.is_empty() && auto_answered.contains(&id),
            lead: r.bool(7)?,
            won: r.bool(8)?,
            lost: r.bool(9)?,
            hours: team.as_ref().and_then(|t| hours_of.get(t).copied()),
            crisis: purpose.as_ref().is_some_and(|p| p.as_str() == "crisis"),
            sla,
            expert_micros: r.int(14)?,
            referred_to: None,
            approvals: Vec::new(),
            csat: r
                .opt_text(15)?
                .map(|_| Ok::<_, StoreError>(r.opt_int(16)?.and_then(|v| u8::try_from(v).ok())))
                .transpose()?,
        });
        index.insert(id, cases.len() - 1);
        Ok(())
    })?;

    // Referrals (the last one of a case counts), from the audit log.
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
                team_name
                    .get(team)
                    .cloned()
                    .unwrap_or_else(|| team.to_owned()),
            );
        }
    }
    Ok(CasesRead {
        cases,
        index,
        surveys,
        hours,
    })
}

fn read_messages(c: &mut dyn Conn, q: &KpiQuery) -> Result<Vec<MessageRead>, StoreError> {
    let pg = c.backend() == Backend::Postgres;
    let (sentiment, language, intent) = if pg {
        (
            "m.understanding #>> '{sentiment,label}'",
            "m.understanding ->> 'language'",
            "m.understanding #>> '{intent,label}'",
        )
    } else {
        (
            "m.understanding ->> '$.sentiment.label'",
            "m.understanding ->> '$.language'",
            "m.understanding ->> '$.intent.label'",
        )
    };
    // Authors' followers by (contact, channel), where a channel told them.
    let followers: HashMap<(String, String), i64> = c
        .query(
            "SELECT contact_id, channel_id, MAX(followers) FROM identities \
             WHERE followers IS NOT NULL GROUP BY contact_id, channel_id",
            &[],
        )?
        .iter()
        .map(|r| Ok(((r.text(0)?, r.text(1)?), r.int(2)?)))
        .collect::<Result<_, StoreError>>()?;
    // Reviewers' decisions, from the audit log.
    let decided: IdMap<i64> = c
        .query(
            "SELECT subject_id, at FROM audit_log WHERE action IN ('message.approved', 'message.rejected')",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.text(0)?, r.int(1)?)))
        .collect::<Result<_, StoreError>>()?;
    let (filter, args) = range_filter(c, q, "m.case_id")?;
    // The id only where it matters (a reviewed reply, or Switchboard's own, which may be a
    // survey question); the author's ids only for customers' messages, when some author's
    // followers are known.
    let author = if followers.is_empty() {
        "NULL, NULL"
    } else {
        "CASE WHEN m.direction = 'inbound' THEN m.contact_id END, \
         CASE WHEN m.direction = 'inbound' THEN m.channel_id END"
    };
    let sql = format!(
        "SELECT m.case_id, \
         CASE WHEN m.direction = 'inbound' THEN 0 WHEN m.author_kind = 'system' THEN 2 ELSE 1 END, \
         m.sent_at, m.created_at, \
         CASE m.delivery_state WHEN 'pending_approval' THEN 1 WHEN 'rejected' THEN 2 WHEN 'failed' THEN 3 ELSE 0 END, \
         CASE WHEN m.direction = 'inbound' THEN CASE {sentiment} WHEN 'negative' THEN 1 WHEN 'neutral' THEN 2 WHEN 'positive' THEN 3 END END, \
         {language}, \
         CASE WHEN m.review_team_id IS NOT NULL OR m.author_kind = 'system' THEN m.id END, \
         CASE WHEN m.review_team_id IS NOT NULL THEN 1 ELSE 0 END, {author} \
         FROM messages m WHERE m.direction <> 'note'{filter}",
        // The column a first customer message gives its case's group by.
        language = match q.group_by {
            GroupBy::Language => language,
            GroupBy::Intent => intent,
            _ => "NULL",
        },
    );
    let mut out = Vec::new();
    c.query_each(&sql, &args, &mut |r| {
        let side = match r.int(1)? {
            0 => Side::Customer,
            2 => Side::Automatic,
            _ => Side::Person,
        };
        let state = r.int(4)?;
        let stored_at = Timestamp::from_unix_micros(r.int(3)?);
        let id = r.opt_text(7)?;
        let reviewed = r.bool(8)?;
        let followers = match (r.opt_text(9)?, r.opt_text(10)?) {
            (Some(contact), Some(channel)) => followers.get(&(contact, channel)).copied(),
            _ => None,
        };
        out.push(MessageRead {
            case_id: r.text(0)?,
            decided_after: match (&id, reviewed) {
                (Some(id), true) => decided.get(id).map(|&at| at - stored_at.as_unix_micros()),
                _ => None,
            },
            fact: MessageFact {
                side,
                sent_at: Timestamp::from_unix_micros(r.int(2)?),
                stored_at,
                delivered: state == 0,
                sentiment: match r.opt_int(5)? {
                    Some(1) => Some(Sentiment::Negative),
                    Some(2) => Some(Sentiment::Neutral),
                    Some(3) => Some(Sentiment::Positive),
                    _ => None,
                },
                followers,
            },
            id,
            reviewed,
            rejected: state == 2,
            language: r.opt_text(6)?,
        });
        Ok(())
    })?;
    Ok(out)
}

/// Puts each message on its case (a message of a case outside the report is dropped).
fn join(
    cases: &mut [CaseFacts],
    index: &IdMap<usize>,
    surveys: &IdSet,
    messages: Vec<MessageRead>,
    group_by: GroupBy,
) {
    for m in messages {
        let Some(&i) = index.get(&m.case_id) else {
            continue;
        };
        if m.id.as_ref().is_some_and(|id| surveys.contains(id)) {
            continue;
        }
        let case = &mut cases[i];
        if m.reviewed {
            case.approvals.push(ApprovalFact {
                waited: m.decided_after,
                rejected: m.rejected,
            });
        }
        let mut fact = m.fact;
        if fact.side == Side::Customer {
            if matches!(group_by, GroupBy::Language | GroupBy::Intent) {
                // The first customer message's language or intent (earliest sent).
                let earliest = case
                    .messages
                    .iter()
                    .filter(|x| x.side == Side::Customer)
                    .all(|x| x.sent_at > fact.sent_at);
                if earliest {
                    // A language stored before codes were checked (`nb`) is reported under
                    // today's code (`no`), not as a language of its own.
                    case.group = match group_by {
                        GroupBy::Language => m.language.map(|l| {
                            switchboard_core::language::parse(&l).map_or(l, str::to_owned)
                        }),
                        _ => m.language,
                    };
                }
            }
            if !case.public {
                fact.followers = None;
            }
        }
        case.messages.push(fact);
    }
}
