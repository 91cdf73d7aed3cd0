//! Who in a team gets a new case: pure choice over the team's members as they are now.
//!
//! Only members who are `online`, have every skill the case needs and hold fewer open cases
//! than the team's capacity are **eligible**.
//! - `round_robin`: the first eligible member after the one who was assigned last, in a fixed
//!   order (by user id), wrapping around.
//! - `least_loaded`: the eligible member with the fewest open cases; ties go to whoever was
//!   assigned longest ago (never first), then by user id.
//! - `manual`: nobody; the case waits in the team's queue for someone to take it.
//!
//! When nobody is eligible the case stays in the team's queue, and the reason says why, so
//! the router can send it to the team's overflow.

use crate::{ParseError, Timestamp, UserId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    RoundRobin,
    LeastLoaded,
    #[default]
    Manual,
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [
        Strategy::RoundRobin,
        Strategy::LeastLoaded,
        Strategy::Manual,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round_robin",
            Strategy::LeastLoaded => "least_loaded",
            Strategy::Manual => "manual",
        }
    }
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                ParseError::new(format!(
                    "unknown assignment strategy {s:?}; expected round_robin, least_loaded or manual"
                ))
            })
    }
}

/// Whether an agent takes new cases now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Online,
    Away,
    #[default]
    Offline,
}

impl Availability {
    pub const ALL: [Availability; 3] = [
        Availability::Online,
        Availability::Away,
        Availability::Offline,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Online => "online",
            Availability::Away => "away",
            Availability::Offline => "offline",
        }
    }
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                ParseError::new(format!(
                    "unknown availability {s:?}; expected online, away or offline"
                ))
            })
    }
}

/// A team member as the assigner sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub id: UserId,
    pub availability: Availability,
    pub skills: Vec<String>,
    /// Active cases (not resolved or closed) assigned to them now.
    pub open_cases: u32,
    pub last_assigned_at: Option<Timestamp>,
}

/// Why a case was not given to anyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Queued {
    /// The team assigns by hand.
    Manual,
    NoMembers,
    NoMemberOnline,
    /// Online members exist, but none has every needed skill.
    NoMemberWithSkills {
        skills: Vec<String>,
    },
    /// Everyone eligible is at the team's capacity.
    AllAtCapacity {
        capacity: u32,
    },
}

impl Queued {
    /// The team cannot take the case now (as opposed to a team that assigns by hand).
    pub fn is_full(&self) -> bool {
        !matches!(self, Queued::Manual)
    }
    pub fn explain(&self) -> String {
        match self {
            Queued::Manual => "the team assigns cases by hand".into(),
            Queued::NoMembers => "the team has no members".into(),
            Queued::NoMemberOnline => "no member of the team is online".into(),
            Queued::NoMemberWithSkills { skills } => {
                format!("no online member has the skills {}", skills.join(", "))
            }
            Queued::AllAtCapacity { capacity } => {
                format!("every eligible member has {capacity} open cases (the team's capacity)")
            }
        }
    }
}

/// Picks who gets a new case, or says why nobody does. `last` is the member the team assigned
/// to most recently (round robin continues after them).
pub fn assign(
    strategy: Strategy,
    capacity: Option<u32>,
    agents: &[Agent],
    skills: &[String],
    last: Option<UserId>,
) -> Result<UserId, Queued> {
    if strategy == Strategy::Manual {
        return Err(Queued::Manual);
    }
    if agents.is_empty() {
        return Err(Queued::NoMembers);
    }
    let online: Vec<&Agent> = agents
        .iter()
        .filter(|a| a.availability == Availability::Online)
        .collect();
    if online.is_empty() {
        return Err(Queued::NoMemberOnline);
    }
    let skilled: Vec<&Agent> = online
        .into_iter()
        .filter(|a| {
            skills
                .iter()
                .all(|s| a.skills.iter().any(|have| have.eq_ignore_ascii_case(s)))
        })
        .collect();
    if skilled.is_empty() {
        return Err(Queued::NoMemberWithSkills {
            skills: skills.to_vec(),
        });
    }
    let mut eligible: Vec<&Agent> = skilled
        .into_iter()
        .filter(|a| capacity.is_none_or(|c| a.open_cases < c))
        .collect();
    if eligible.is_empty() {
        return Err(Queued::AllAtCapacity {
            capacity: capacity.unwrap_or(0),
        });
    }
    eligible.sort_by_key(|a| a.id);
    let chosen = match strategy {
        Strategy::RoundRobin => last
            .and_then(|l| eligible.iter().find(|a| a.id > l))
            .or(eligible.first()),
        Strategy::LeastLoaded => eligible
            .iter()
            .min_by_key(|a| (a.open_cases, a.last_assigned_at, a.id)),
        Strategy::Manual => None,
    };
    chosen.map(|a| a.id).ok_or(Queued::Manual)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> UserId {
        UserId::parse(&format!("00000000-0000-7000-8000-0000000000{n:02}")).unwrap()
    }

    fn agent(n: u8, av: Availability, skills: &[&str], open: u32, last: Option<i64>) -> Agent {
        Agent {
            id: id(n),
            availability: av,
            skills: skills.iter().map(|s| s.to_string()).collect(),
            open_cases: open,
            last_assigned_at: last.map(Timestamp::from_unix_micros),
        }
    }

    use Availability::*;

    #[test]
    fn round_robin_continues_after_the_last_and_wraps() {
        let team = [
            agent(3, Online, &[], 0, None),
            agent(1, Online, &[], 0, None),
            agent(2, Offline, &[], 0, None),
        ];
        let cases: [(Option<u8>, u8); 4] = [(None, 1), (Some(1), 3), (Some(3), 1), (Some(2), 3)];
        for (last, want) in cases {
            assert_eq!(
                assign(Strategy::RoundRobin, None, &team, &[], last.map(id)),
                Ok(id(want)),
                "after {last:?}"
            );
        }
    }

    #[test]
    fn least_loaded_prefers_fewest_open_then_longest_idle_then_id() {
        let cases: [(&[Agent], u8); 3] = [
            (
                &[
                    agent(1, Online, &[], 3, None),
                    agent(2, Online, &[], 1, Some(5)),
                ],
                2,
            ),
            (
                &[
                    agent(1, Online, &[], 1, Some(9)),
                    agent(2, Online, &[], 1, Some(5)),
                ],
                2,
            ),
            (
                &[
                    agent(2, Online, &[], 1, None),
                    agent(1, Online, &[], 1, None),
                    agent(3, Online, &[], 1, Some(1)),
                ],
                1,
            ),
        ];
        for (team, want) in cases {
            assert_eq!(
                assign(Strategy::LeastLoaded, Some(5), team, &[], None),
                Ok(id(want))
            );
        }
    }

    #[test]
    fn eligibility_respects_availability_skills_and_capacity() {
        let de = vec!["german".to_string()];
        let team = [
            agent(1, Online, &["english"], 0, None),
            agent(2, Away, &["German"], 0, None),
            agent(3, Online, &["german", "billing"], 2, None),
            agent(4, Online, &["GERMAN"], 1, None),
        ];
        // Skills match case-insensitively; the away member is skipped.
        assert_eq!(
            assign(Strategy::LeastLoaded, Some(2), &team, &de, None),
            Ok(id(4))
        );
        assert_eq!(
            assign(Strategy::RoundRobin, Some(1), &team, &de, None),
            Err(Queued::AllAtCapacity { capacity: 1 })
        );
        assert_eq!(
            assign(Strategy::RoundRobin, None, &team, &["french".into()], None),
            Err(Queued::NoMemberWithSkills {
                skills: vec!["french".into()]
            })
        );
    }

    #[test]
    fn nobody_to_assign() {
        let offline = [
            agent(1, Offline, &[], 0, None),
            agent(2, Away, &[], 0, None),
        ];
        let cases: [(Strategy, &[Agent], Queued); 3] = [
            (Strategy::Manual, &offline, Queued::Manual),
            (Strategy::RoundRobin, &[], Queued::NoMembers),
            (Strategy::LeastLoaded, &offline, Queued::NoMemberOnline),
        ];
        for (s, team, want) in cases {
            assert_eq!(assign(s, None, team, &[], None), Err(want.clone()));
            assert_eq!(want.is_full(), s != Strategy::Manual);
            assert!(!want.explain().is_empty());
        }
    }

    #[test]
    fn names_round_trip() {
        for s in Strategy::ALL {
            assert_eq!(Strategy::parse(s.as_str()), Ok(s));
        }
        for a in Availability::ALL {
            assert_eq!(Availability::parse(a.as_str()), Ok(a));
        }
        assert!(Strategy::parse("random").is_err());
        assert!(Availability::parse("busy").is_err());
    }
}
