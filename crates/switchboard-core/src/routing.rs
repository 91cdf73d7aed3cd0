//! Where a routed case lands: the playbook names a team; this follows the team's overflow
//! while the team is closed or full, and picks the assignee by the team's strategy.
//!
//! A team is **closed** outside its business hours and **full** when its strategy assigns
//! automatically but nobody can take the case (nobody online, nobody with the skills, everyone
//! at capacity). A closed or full team with an `overflow` passes the case on; the chain is
//! followed at most [`MAX_HOPS`] times and never visits a team twice. When the chain ends, the
//! case stays with the last team, in its queue. Every hop is recorded with its reason.

use crate::UserId;
use crate::assign::{Agent, Queued, Strategy, assign};
use serde::Serialize;

/// The longest overflow chain followed.
pub const MAX_HOPS: usize = 3;

/// A team as the router sees it now.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamState {
    pub slug: String,
    pub strategy: Strategy,
    pub capacity: Option<u32>,
    pub overflow: Option<String>,
    /// Within business hours now.
    pub open_now: bool,
    pub agents: Vec<Agent>,
    /// Whom the team assigned to last (round robin continues after them).
    pub last_assigned: Option<UserId>,
}

/// One step along the overflow chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub from: String,
    pub to: String,
    pub reason: String,
}

/// The outcome: the team and person who own the case, or why nobody was assigned.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Placement {
    pub team: Option<String>,
    pub assignee: Option<UserId>,
    /// Why the case waits in the team's queue unassigned.
    pub queued: Option<String>,
    pub overflow: Vec<Hop>,
}

/// Places a case the playbook sent to `team` (None: no team). `lookup` gives a team's state
/// by slug (None if it no longer exists).
pub fn place(
    team: Option<&str>,
    skills: &[String],
    mut lookup: impl FnMut(&str) -> Option<TeamState>,
) -> Placement {
    let mut placement = Placement::default();
    let Some(mut slug) = team.map(str::to_owned) else {
        return placement;
    };
    let mut visited = vec![slug.clone()];
    loop {
        let Some(state) = lookup(&slug) else {
            placement.queued = Some(format!("team {slug:?} does not exist"));
            return placement;
        };
        placement.team = Some(slug.clone());
        let outcome = if state.open_now {
            assign(
                state.strategy,
                state.capacity,
                &state.agents,
                skills,
                state.last_assigned,
            )
        } else {
            Err(Queued::Manual)
        };
        let why_not = match &outcome {
            Ok(user) => {
                placement.assignee = Some(*user);
                placement.queued = None;
                return placement;
            }
            Err(_) if !state.open_now => "the team is outside its business hours".to_owned(),
            Err(q) => q.explain(),
        };
        let passes_on = !state.open_now || outcome.as_ref().is_err_and(Queued::is_full);
        placement.queued = Some(why_not.clone());
        match state.overflow {
            Some(next)
                if passes_on && placement.overflow.len() < MAX_HOPS && !visited.contains(&next) =>
            {
                placement.overflow.push(Hop {
                    from: slug.clone(),
                    to: next.clone(),
                    reason: why_not,
                });
                visited.push(next.clone());
                slug = next;
            }
            _ => return placement,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::Availability;
    use std::collections::BTreeMap;

    fn id(n: u8) -> UserId {
        UserId::parse(&format!("00000000-0000-7000-8000-0000000000{n:02}")).unwrap()
    }

    fn team(slug: &str, open: bool, online: &[u8], overflow: Option<&str>) -> TeamState {
        TeamState {
            slug: slug.into(),
            strategy: Strategy::LeastLoaded,
            capacity: Some(2),
            overflow: overflow.map(Into::into),
            open_now: open,
            agents: online
                .iter()
                .map(|n| Agent {
                    id: id(*n),
                    availability: Availability::Online,
                    skills: vec![],
                    open_cases: 0,
                    last_assigned_at: None,
                })
                .collect(),
            last_assigned: None,
        }
    }

    fn world(teams: Vec<TeamState>) -> BTreeMap<String, TeamState> {
        teams.into_iter().map(|t| (t.slug.clone(), t)).collect()
    }

    /// (name, teams, start, expected team, expected assignee, hops)
    type Row = (
        &'static str,
        Vec<TeamState>,
        Option<&'static str>,
        Option<&'static str>,
        Option<u8>,
        usize,
    );

    #[test]
    fn placement_table() {
        let cases: Vec<Row> = vec![
            ("no team", vec![], None, None, None, 0),
            (
                "open team assigns",
                vec![team("a", true, &[1], None)],
                Some("a"),
                Some("a"),
                Some(1),
                0,
            ),
            (
                "closed team overflows",
                vec![
                    team("a", false, &[1], Some("b")),
                    team("b", true, &[2], None),
                ],
                Some("a"),
                Some("b"),
                Some(2),
                1,
            ),
            (
                "full team overflows twice",
                vec![
                    team("a", true, &[], Some("b")),
                    team("b", true, &[], Some("c")),
                    team("c", true, &[3], None),
                ],
                Some("a"),
                Some("c"),
                Some(3),
                2,
            ),
            (
                "a cycle stops at the repeat",
                vec![
                    team("a", true, &[], Some("b")),
                    team("b", true, &[], Some("a")),
                ],
                Some("a"),
                Some("b"),
                None,
                1,
            ),
            (
                "closed without overflow stays queued",
                vec![team("a", false, &[1], None)],
                Some("a"),
                Some("a"),
                None,
                0,
            ),
            (
                "the chain ends after MAX_HOPS",
                vec![
                    team("a", true, &[], Some("b")),
                    team("b", true, &[], Some("c")),
                    team("c", true, &[], Some("d")),
                    team("d", true, &[], Some("e")),
                    team("e", true, &[5], None),
                ],
                Some("a"),
                Some("d"),
                None,
                3,
            ),
        ];
        for (name, teams, start, want_team, want_user, hops) in cases {
            let w = world(teams);
            let p = place(start, &[], |s| w.get(s).cloned());
            assert_eq!(p.team.as_deref(), want_team, "{name}");
            assert_eq!(p.assignee, want_user.map(id), "{name}");
            assert_eq!(p.overflow.len(), hops, "{name}: {:?}", p.overflow);
            assert_eq!(
                p.queued.is_some(),
                want_user.is_none() && start.is_some(),
                "{name}"
            );
        }
    }

    #[test]
    fn manual_teams_do_not_overflow_when_open_and_hops_say_why() {
        let mut manual = team("a", true, &[1], Some("b"));
        manual.strategy = Strategy::Manual;
        let w = world(vec![manual, team("b", true, &[2], None)]);
        let p = place(Some("a"), &[], |s| w.get(s).cloned());
        assert_eq!((p.team.as_deref(), p.assignee), (Some("a"), None));
        assert_eq!(p.queued.as_deref(), Some("the team assigns cases by hand"));

        let w = world(vec![
            team("a", false, &[1], Some("b")),
            team("b", true, &[2], None),
        ]);
        let p = place(Some("a"), &[], |s| w.get(s).cloned());
        assert_eq!(
            p.overflow,
            [Hop {
                from: "a".into(),
                to: "b".into(),
                reason: "the team is outside its business hours".into()
            }]
        );
        assert_eq!(p.queued, None);
    }

    #[test]
    fn a_missing_team_is_reported() {
        let p = place(Some("gone"), &[], |_| None);
        assert_eq!(p.team, None);
        assert_eq!(p.queued.as_deref(), Some("team \"gone\" does not exist"));
    }
}
