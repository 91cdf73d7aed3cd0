//! What the browser workspace lists: the inbox's queues with their counts, its rows (a case
//! with who wrote, on which channel, and the last words), and the supervisor's live figures.
//! Reads only; every query is bounded (a page of rows, counts grouped by a handful of keys).

use crate::cases::{CASE_COLS, case_from_row};
use crate::journal::bad;
use crate::sql::{Backend, Conn, Value};
use crate::{Case, Store, StoreError, params};
use serde::Serialize;
use switchboard_core::*;

/// Statuses of cases someone still has to work on.
const ACTIVE: &str = "('new', 'open', 'pending', 'with_expert')";

/// Which cases an inbox shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queue {
    /// Active cases assigned to this person.
    Mine(UserId),
    /// Active cases nobody has.
    Unassigned,
    /// Active cases of a team, optionally of one purpose.
    Team(TeamId, Option<Purpose>),
    /// Cases with a reply waiting for a reviewer.
    Approval,
    /// Cases waiting for an outside expert.
    WithExpert,
    /// Active cases whose SLA warned or breached.
    AtRisk,
    /// Every active case.
    Active,
    /// Resolved and closed cases.
    Done,
}

/// Narrows a queue.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    pub purpose: Option<Purpose>,
    pub status: Option<CaseStatus>,
    pub channel: Option<ChannelId>,
    /// Only these cases (a search's hits).
    pub cases: Option<Vec<CaseId>>,
    /// Only cases older than this one (the next page: rows are newest first).
    pub before: Option<CaseId>,
}

/// One inbox row.
#[derive(Debug, Clone, Serialize)]
pub struct InboxRow {
    #[serde(flatten)]
    pub case: Case,
    pub contact_name: String,
    pub channel_kind: String,
    pub channel_name: String,
    /// The case's latest message, for a preview.
    pub last_text: String,
    pub last_at: Timestamp,
    pub last_inbound: bool,
    /// An SLA target warned or breached and the case is still active.
    pub at_risk: bool,
}

/// How many cases each queue of a person holds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QueueCounts {
    pub mine: i64,
    pub unassigned: i64,
    pub approval: i64,
    pub with_expert: i64,
    pub at_risk: i64,
    pub active: i64,
    /// The person's teams, by purpose: (team, purpose, active cases).
    pub teams: Vec<(TeamId, String, i64)>,
}

/// One team's live load, for the supervisor.
#[derive(Debug, Clone, Serialize)]
pub struct TeamLoad {
    pub team: TeamId,
    pub name: String,
    /// Active cases by purpose.
    pub by_purpose: Vec<(String, i64)>,
    pub unassigned: i64,
    pub at_risk: i64,
}

/// One person's live load.
#[derive(Debug, Clone, Serialize)]
pub struct AgentLoad {
    pub user: UserId,
    pub name: String,
    pub role: String,
    pub availability: String,
    pub active_cases: i64,
}

/// Cases opened and resolved per hour.
#[derive(Debug, Clone, Serialize)]
pub struct HourBucket {
    /// The hour's start (unix micros).
    pub hour: i64,
    pub opened: i64,
    pub resolved: i64,
    pub inbound: i64,
}

fn queue_clause(q: &Queue, args: &mut Vec<Value>) -> String {
    match q {
        Queue::Mine(u) => {
            args.push(u.to_string().into());
            format!("c.status IN {ACTIVE} AND c.assignee_id = ${}", args.len())
        }
        Queue::Unassigned => format!("c.status IN {ACTIVE} AND c.assignee_id IS NULL"),
        Queue::Team(t, p) => {
            args.push(t.to_string().into());
            let mut s = format!("c.status IN {ACTIVE} AND c.team_id = ${}", args.len());
            if let Some(p) = p {
                args.push(p.as_str().into());
                s.push_str(&format!(" AND c.purpose = ${}", args.len()));
            }
            s
        }
        Queue::Approval => "c.id IN (SELECT case_id FROM messages \
             WHERE delivery_state = 'pending_approval')"
            .to_owned(),
        Queue::WithExpert => "c.status = 'with_expert'".to_owned(),
        Queue::AtRisk => format!("c.status IN {ACTIVE} AND c.sla_fired <> '[]'"),
        Queue::Active => format!("c.status IN {ACTIVE}"),
        Queue::Done => "c.status IN ('resolved', 'closed')".to_owned(),
    }
}

fn inbox_rows(
    c: &mut dyn Conn,
    queue: &Queue,
    filter: &InboxFilter,
    limit: i64,
) -> Result<Vec<InboxRow>, StoreError> {
    // The page's cases first (ids only: the sort touches no other column), then the columns
    // that cost a look-up each (the contact's name, the channel, the last message) for those
    // rows alone.
    let mut args: Vec<Value> = Vec::new();
    let mut page = String::from("SELECT c.id FROM cases c");
    if filter.channel.is_some() {
        page.push_str(" JOIN conversations v ON v.id = c.conversation_id");
    }
    page.push_str(" WHERE ");
    page.push_str(&queue_clause(queue, &mut args));
    if let Some(p) = &filter.purpose {
        args.push(p.as_str().into());
        page.push_str(&format!(" AND c.purpose = ${}", args.len()));
    }
    if let Some(s) = filter.status {
        args.push(s.as_str().into());
        page.push_str(&format!(" AND c.status = ${}", args.len()));
    }
    if let Some(ch) = filter.channel {
        args.push(ch.to_string().into());
        page.push_str(&format!(" AND v.channel_id = ${}", args.len()));
    }
    if let Some(ids) = &filter.cases {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut marks = Vec::with_capacity(ids.len());
        for id in ids {
            args.push(id.to_string().into());
            marks.push(format!("${}", args.len()));
        }
        page.push_str(&format!(" AND c.id IN ({})", marks.join(", ")));
    }
    if let Some(before) = filter.before {
        args.push(before.to_string().into());
        page.push_str(&format!(" AND c.id < ${}", args.len()));
    }
    args.push(Value::Int(limit));
    page.push_str(&format!(" ORDER BY c.id DESC LIMIT ${}", args.len()));
    let sql = format!(
        "SELECT {CASE_COLS}, \
           COALESCE(ct.display_name, (SELECT COALESCE(i.name, i.handle, i.external_id) \
             FROM identities i WHERE i.contact_id = c.contact_id LIMIT 1), 'Unknown'), \
           ch.kind, ch.name, \
           (SELECT m.text FROM messages m WHERE m.case_id = c.id \
             ORDER BY m.created_at DESC LIMIT 1), \
           (SELECT m.sent_at FROM messages m WHERE m.case_id = c.id \
             ORDER BY m.created_at DESC LIMIT 1), \
           (SELECT m.direction FROM messages m WHERE m.case_id = c.id \
             ORDER BY m.created_at DESC LIMIT 1), \
           c.sla_fired \
         FROM ({page}) page \
         JOIN cases c ON c.id = page.id JOIN conversations v ON v.id = c.conversation_id \
         JOIN contacts ct ON ct.id = c.contact_id \
         JOIN channels ch ON ch.id = v.channel_id \
         ORDER BY c.id DESC"
    );
    let n = CASE_COLS.split(',').count();
    c.query(&sql, &args)?
        .iter()
        .map(|r| {
            let case = case_from_row(r)?;
            let fired = r.text(n + 6)?;
            Ok(InboxRow {
                at_risk: case.status.is_active() && fired != "[]",
                contact_name: r.text(n)?,
                channel_kind: r.text(n + 1)?,
                channel_name: r.text(n + 2)?,
                last_text: r.opt_text(n + 3)?.unwrap_or_default(),
                last_at: r
                    .opt_int(n + 4)?
                    .map_or(case.created_at, Timestamp::from_unix_micros),
                last_inbound: r.opt_text(n + 5)?.as_deref() == Some("inbound"),
                case,
            })
        })
        .collect()
}

fn count(c: &mut dyn Conn, clause: &str, args: &[Value]) -> Result<i64, StoreError> {
    c.query_one(
        &format!("SELECT COUNT(*) FROM cases c WHERE {clause}"),
        args,
    )?
    .int(0)
}

fn counted(c: &mut dyn Conn, q: &Queue) -> Result<i64, StoreError> {
    let mut args = Vec::new();
    let clause = queue_clause(q, &mut args);
    count(c, &clause, &args)
}

impl Store {
    /// A page of a queue, newest case first.
    pub async fn inbox(
        &self,
        queue: Queue,
        filter: InboxFilter,
        limit: i64,
    ) -> Result<Vec<InboxRow>, StoreError> {
        self.pool
            .read(move |c| inbox_rows(c, &queue, &filter, limit))
            .await
    }

    /// The counts beside a person's queues.
    pub async fn queue_counts(&self, user: Option<UserId>) -> Result<QueueCounts, StoreError> {
        self.pool
            .read(move |c| {
                let mut out = QueueCounts {
                    mine: match user {
                        Some(u) => counted(c, &Queue::Mine(u))?,
                        None => 0,
                    },
                    unassigned: counted(c, &Queue::Unassigned)?,
                    approval: counted(c, &Queue::Approval)?,
                    with_expert: counted(c, &Queue::WithExpert)?,
                    at_risk: counted(c, &Queue::AtRisk)?,
                    active: counted(c, &Queue::Active)?,
                    teams: Vec::new(),
                };
                if let Some(u) = user {
                    let rows = c.query(
                        &format!(
                            "SELECT c.team_id, c.purpose, COUNT(*) FROM cases c \
                             WHERE c.status IN {ACTIVE} AND c.team_id IN \
                               (SELECT team_id FROM team_members WHERE user_id = $1) \
                             GROUP BY c.team_id, c.purpose ORDER BY c.team_id, c.purpose"
                        ),
                        params![u.to_string()],
                    )?;
                    for r in rows.iter() {
                        out.teams.push((
                            TeamId::parse(&r.text(0)?).map_err(bad)?,
                            r.text(1)?,
                            r.int(2)?,
                        ));
                    }
                }
                Ok(out)
            })
            .await
    }

    /// Every team's active cases by purpose, unassigned and at risk.
    pub async fn team_loads(&self) -> Result<Vec<TeamLoad>, StoreError> {
        self.pool
            .read(move |c| {
                let teams = c.query("SELECT id, name FROM teams ORDER BY name", &[])?;
                let mut out = Vec::new();
                for t in teams.iter() {
                    out.push(TeamLoad {
                        team: TeamId::parse(&t.text(0)?).map_err(bad)?,
                        name: t.text(1)?,
                        by_purpose: Vec::new(),
                        unassigned: 0,
                        at_risk: 0,
                    });
                }
                let rows = c.query(
                    &format!(
                        "SELECT c.team_id, c.purpose, COUNT(*), \
                           SUM(CASE WHEN c.assignee_id IS NULL THEN 1 ELSE 0 END), \
                           SUM(CASE WHEN c.sla_fired <> '[]' THEN 1 ELSE 0 END) \
                         FROM cases c WHERE c.status IN {ACTIVE} AND c.team_id IS NOT NULL \
                         GROUP BY c.team_id, c.purpose ORDER BY c.purpose"
                    ),
                    &[],
                )?;
                for r in rows.iter() {
                    let team = TeamId::parse(&r.text(0)?).map_err(bad)?;
                    if let Some(t) = out.iter_mut().find(|t| t.team == team) {
                        t.by_purpose.push((r.text(1)?, r.int(2)?));
                        t.unassigned += r.int(3)?;
                        t.at_risk += r.int(4)?;
                    }
                }
                Ok(out)
            })
            .await
    }

    /// Every active person with the active cases assigned to them.
    pub async fn agent_loads(&self) -> Result<Vec<AgentLoad>, StoreError> {
        self.pool
            .read(move |c| {
                c.query(
                    &format!(
                        "SELECT u.id, u.display_name, u.role, u.availability, \
                           (SELECT COUNT(*) FROM cases c WHERE c.assignee_id = u.id \
                             AND c.status IN {ACTIVE}) \
                         FROM users u WHERE u.active = $1 ORDER BY u.display_name"
                    ),
                    params![true],
                )?
                .iter()
                .map(|r| {
                    Ok(AgentLoad {
                        user: UserId::parse(&r.text(0)?).map_err(bad)?,
                        name: r.text(1)?,
                        role: r.text(2)?,
                        availability: r.text(3)?,
                        active_cases: r.int(4)?,
                    })
                })
                .collect()
            })
            .await
    }

    /// Cases opened and resolved, and inbound messages, per hour since `from` (hour-aligned,
    /// unix micros), up to `hours` buckets; hours with nothing are included as zeros.
    pub async fn hourly(&self, from: i64, hours: usize) -> Result<Vec<HourBucket>, StoreError> {
        const HOUR: i64 = 3_600_000_000;
        self.pool
            .read(move |c| {
                let mut out: Vec<HourBucket> = (0..hours as i64)
                    .map(|i| HourBucket {
                        hour: from + i * HOUR,
                        opened: 0,
                        resolved: 0,
                        inbound: 0,
                    })
                    .collect();
                let pg = c.backend() == Backend::Postgres;
                // Literals, not parameters: both are integers computed here, and PostgreSQL
                // then needs no guess at a parameter's type in timestamp arithmetic.
                let micros = |col: &str| {
                    if pg {
                        format!("(EXTRACT(EPOCH FROM {col}) * 1000000)::bigint")
                    } else {
                        col.to_owned()
                    }
                };
                let since = |col: &str| {
                    if pg {
                        format!("{col} >= to_timestamp({from}::double precision / 1000000)")
                    } else {
                        format!("{col} >= {from}")
                    }
                };
                for (table, col, extra, pick) in [
                    ("cases", "created_at", "", 0),
                    ("cases", "resolved_at", "", 1),
                    ("messages", "sent_at", " AND direction = 'inbound'", 2),
                ] {
                    let sql = format!(
                        "SELECT ({} - {from}) / {HOUR}, COUNT(*) FROM {table} \
                         WHERE {}{extra} GROUP BY 1",
                        micros(col),
                        since(col)
                    );
                    for r in c.query(&sql, &[])?.iter() {
                        let i = r.int(0)?;
                        if let Some(b) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) {
                            let n = r.int(1)?;
                            match pick {
                                0 => b.opened += n,
                                1 => b.resolved += n,
                                _ => b.inbound += n,
                            }
                        }
                    }
                }
                Ok(out)
            })
            .await
    }
}
