//! Notifications: what a person should know without watching the inbox (an SLA warning or
//! breach, an expert's answer, an escalation). Each is also a live event, so an open
//! workspace shows it at once.

use crate::journal::{PendingEvent, bad, emit_many};
use crate::sql::Conn;
use crate::{Event, Page, Store, StoreError, params};
use serde::Serialize;
use serde_json::json;
use switchboard_core::{CaseId, NotificationId, TeamId, Timestamp, UserId};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    pub id: NotificationId,
    pub user_id: UserId,
    /// `sla.warning`, `sla.breached`, `expert.answered`, `expert.late`, `case.escalated`,
    /// `mention` (a note named the person with `@username`), `reply.rejected` (a reviewer
    /// did not approve their reply).
    pub kind: String,
    pub case_id: Option<CaseId>,
    pub body: String,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

const COLS: &str = "id, user_id, kind, case_id, body, created_at, read_at";

fn from_row(r: &crate::sql::Row) -> Result<Notification, StoreError> {
    Ok(Notification {
        id: NotificationId::parse(&r.text(0)?).map_err(bad)?,
        user_id: UserId::parse(&r.text(1)?).map_err(bad)?,
        kind: r.text(2)?,
        case_id: r
            .opt_text(3)?
            .map(|s| CaseId::parse(&s))
            .transpose()
            .map_err(bad)?,
        body: r.text(4)?,
        created_at: Timestamp::from_unix_micros(r.int(5)?),
        read_at: r.opt_int(6)?.map(Timestamp::from_unix_micros),
    })
}

/// Notifies each of `users` (duplicates once), with a `notification.created` event each.
pub(crate) fn notify(
    c: &mut dyn Conn,
    users: &[UserId],
    kind: &str,
    case: Option<CaseId>,
    body: &str,
    now: Timestamp,
) -> Result<Vec<Event>, StoreError> {
    let mut pending = Vec::new();
    notify_later(c, users, kind, case, body, now, &mut pending)?;
    emit_many(c, pending)
}

/// [`notify`], leaving the events in `pending` for the caller to emit with its own.
pub(crate) fn notify_later(
    c: &mut dyn Conn,
    users: &[UserId],
    kind: &str,
    case: Option<CaseId>,
    body: &str,
    now: Timestamp,
    pending: &mut Vec<PendingEvent>,
) -> Result<(), StoreError> {
    let mut seen = Vec::new();
    for &user in users {
        if seen.contains(&user) {
            continue;
        }
        seen.push(user);
        let id = NotificationId::new_at(now);
        c.execute(
            &format!("INSERT INTO notifications ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, NULL)"),
            params![
                id.to_string(),
                user.to_string(),
                kind,
                case.map(|c| c.to_string()),
                body,
                now.as_unix_micros()
            ],
        )?;
        let n = Notification {
            id,
            user_id: user,
            kind: kind.to_owned(),
            case_id: case,
            body: body.to_owned(),
            created_at: now,
            read_at: None,
        };
        pending.push(PendingEvent {
            kind: "notification.created",
            case_id: case,
            data: json!({ "notification": n }),
            at: now,
        });
    }
    Ok(())
}

/// Who supervises a team: its members who are supervisors or admins; if it has none (or
/// there is no team), every active supervisor; if there are none, every active admin.
pub(crate) fn supervisors_of(
    c: &mut dyn Conn,
    team: Option<TeamId>,
) -> Result<Vec<UserId>, StoreError> {
    let ids = |c: &mut dyn Conn, sql: &str, args: &[crate::sql::Value]| {
        c.query(sql, args)?
            .iter()
            .map(|r| UserId::parse(&r.text(0)?).map_err(bad))
            .collect::<Result<Vec<_>, StoreError>>()
    };
    if let Some(t) = team {
        let found = ids(
            c,
            "SELECT u.id FROM team_members m JOIN users u ON u.id = m.user_id \
             WHERE m.team_id = $1 AND u.active = $2 AND u.role IN ('supervisor', 'admin') ORDER BY u.id",
            params![t.to_string(), true],
        )?;
        if !found.is_empty() {
            return Ok(found);
        }
    }
    for role in ["supervisor", "admin"] {
        let found = ids(
            c,
            "SELECT id FROM users WHERE role = $1 AND active = $2 ORDER BY id",
            params![role, true],
        )?;
        if !found.is_empty() {
            return Ok(found);
        }
    }
    Ok(vec![])
}

impl Store {
    /// A person's notifications, newest first.
    pub async fn notifications(
        &self,
        user: UserId,
        unread_only: bool,
        cursor: Option<NotificationId>,
        limit: i64,
    ) -> Result<Page<Notification>, StoreError> {
        self.pool
            .read(move |c| {
                let mut sql = format!("SELECT {COLS} FROM notifications WHERE user_id = $1");
                let mut args: Vec<crate::sql::Value> = vec![user.to_string().into()];
                if unread_only {
                    sql.push_str(" AND read_at IS NULL");
                }
                if let Some(cur) = cursor {
                    args.push(cur.to_string().into());
                    sql.push_str(&format!(" AND id < ${}", args.len()));
                }
                args.push((limit + 1).into());
                sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", args.len()));
                let items = c
                    .query(&sql, &args)?
                    .iter()
                    .map(from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Page::from_overfetch(items, limit, |n| n.id.to_string()))
            })
            .await
    }

    /// How many of a person's notifications are unread.
    pub async fn unread_notifications(&self, user: UserId) -> Result<i64, StoreError> {
        self.pool
            .read(move |c| {
                c.query_one(
                    "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL",
                    params![user.to_string()],
                )?
                .int(0)
            })
            .await
    }

    /// Marks a person's notifications read: the listed ones, or all. Returns how many changed.
    pub async fn mark_notifications_read(
        &self,
        user: UserId,
        ids: Option<Vec<NotificationId>>,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        self.pool
            .write(move |c| {
                let mut changed = 0;
                match ids {
                    None => {
                        changed += c.execute(
                            "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL",
                            params![now.as_unix_micros(), user.to_string()],
                        )?;
                    }
                    Some(ids) => {
                        for id in ids {
                            changed += c.execute(
                                "UPDATE notifications SET read_at = $1 WHERE id = $2 AND user_id = $3 AND read_at IS NULL",
                                params![now.as_unix_micros(), id.to_string(), user.to_string()],
                            )?;
                        }
                    }
                }
                Ok(changed)
            })
            .await
    }
}
