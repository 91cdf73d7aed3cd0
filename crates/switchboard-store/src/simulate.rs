//! Playbook simulation: replays stored cases through a candidate playbook and reports what it
//! would have done, before it goes live.
//!
//! Each case created since the given time is replayed once, on its first customer message, with
//! the facts known about it: channel, public or private, text, what was understood of it (the
//! purpose, intent and sentiment as people corrected them, where they did), the contact's tags
//! (as they are now), the author's followers and verification, and how many of the contact's
//! cases were open when it was created (counting cases in the window). The report counts, per rule, the
//! cases it would match; per team and purpose, the volume it would get against what it got;
//! and the cases whose purpose or team would differ from what they have now (after any
//! transfers people made), with examples. A team closed by its business hours at the time
//! passes the case to its overflow, as routing would (teams and hours as the candidate
//! declares them, else as they are now); who was online and at capacity then is not known, so
//! assignment and capacity overflow are not simulated.
//!
//! Cases are read in pages in creation order and each page is evaluated on every core.

use crate::directory::json_list;
use crate::journal::bad;
use crate::routing::team_hours;
use crate::sql::Row;
use crate::{Store, StoreError, params};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use switchboard_core::playbook::{Facts, Playbook};
use switchboard_core::schedule::BusinessHours;
use switchboard_core::*;

/// Cases read per page.
const PAGE: i64 = 20_000;
/// Examples of differently routed cases kept in the report.
const EXAMPLES: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleCount {
    pub rule: String,
    pub line: usize,
    /// Cases on which the rule would fire.
    pub matched: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Volume {
    /// A team slug or a purpose; `null`: none.
    pub name: Option<String>,
    pub simulated: u64,
    pub actual: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Routing {
    pub purpose: String,
    pub team: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    pub case_id: CaseId,
    pub created_at: Timestamp,
    /// The first customer message, cut to 200 characters.
    pub text: String,
    pub actual: Routing,
    pub simulated: Routing,
    /// The rules that would fire, in order.
    pub fired: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulationReport {
    pub since: Timestamp,
    pub until: Timestamp,
    pub cases: u64,
    /// Cases no rule would match (they would stay unrouted, at the defaults).
    pub unmatched: u64,
    pub rules: Vec<RuleCount>,
    pub teams: Vec<Volume>,
    pub purposes: Vec<Volume>,
    /// Cases whose purpose or team would differ from what they have now.
    pub routed_differently: u64,
    pub examples: Vec<Example>,
    pub elapsed_ms: u64,
}

/// One stored case as the simulation reads it.
struct Replay {
    id: CaseId,
    created_at: Timestamp,
    purpose: String,
    team: Option<String>,
    contact: String,
    facts: Facts,
}

/// The outcome for one case, computed in parallel.
struct Outcome {
    fired: Vec<usize>,
    purpose: String,
    team: Option<String>,
}

fn replay_from_row(r: &Row) -> Result<Replay, StoreError> {
    let understood: Option<switchboard_core::Understood> =
        r.opt_text(14)?.and_then(|s| serde_json::from_str(&s).ok());
    let mut facts = crate::routing::understood_facts(understood.as_ref());
    // What people corrected is replayed as they said it, the purpose as well as the sentiment
    // and the intent (kept on the message): a case whose sentiment an agent set to negative
    // and whose purpose to `sales` is not replayed as an angry Tier 1 case.
    if let Some(p) = r.opt_text(15)?.and_then(|p| Purpose::parse(&p).ok()) {
        facts.purpose = Some((p, 1.0));
    }
    Ok(Replay {
        id: CaseId::parse(&r.text(0)?).map_err(bad)?,
        created_at: Timestamp::from_unix_micros(r.int(1)?),
        purpose: r.text(2)?,
        team: r.opt_text(3)?,
        contact: r.text(10)?,
        facts: Facts {
            channel_id: r.text(4)?,
            public: r.bool(5)?,
            channel_kind: r.text(6)?,
            channel_name: r.text(7)?,
            text: r.opt_text(8)?.unwrap_or_default(),
            author_tags: json_list(&r.text(9)?)?,
            followers: r.opt_int(11)?.map(|n| n.max(0) as u64),
            verified: r.opt_int(12)?.is_some_and(|v| v != 0),
            ..facts
        },
    })
}

fn evaluate(pb: &Playbook, index: &HashMap<String, usize>, cases: &[Replay]) -> Vec<Outcome> {
    cases
        .iter()
        .map(|case| {
            let d = pb.evaluate(&case.facts);
            Outcome {
                fired: d
                    .fired
                    .iter()
                    .filter_map(|f| index.get(f.rule.as_str()).copied())
                    .collect(),
                // As routing decides it: no rule set a purpose, the understood one, else
                // Tier 1.
                purpose: d
                    .actions
                    .purpose
                    .or_else(|| case.facts.purpose.as_ref().map(|(p, _)| p.clone()))
                    .map_or_else(|| "tier1".to_owned(), |p| p.as_str().to_owned()),
                team: d.actions.team,
            }
        })
        .collect()
}

/// Evaluates `cases` on every core.
fn evaluate_parallel(pb: &Playbook, cases: &[Replay]) -> Vec<Outcome> {
    let index: HashMap<String, usize> = pb
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.clone(), i))
        .collect();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    if workers < 2 || cases.len() < 1000 {
        return evaluate(pb, &index, cases);
    }
    let chunk = cases.len().div_ceil(workers);
    std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .chunks(chunk)
            .map(|part| {
                let index = &index;
                s.spawn(move || evaluate(pb, index, part))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// Each team's hours and overflow: the candidate's declarations over the database's teams.
type TeamHours = HashMap<String, (BusinessHours, Option<String>)>;

/// The team a case for `team` lands in at `at`, following overflow while teams are closed.
fn follow_closed(hours: &TeamHours, team: Option<String>, at: Timestamp) -> Option<String> {
    let mut team = team?;
    let mut seen = vec![team.clone()];
    while let Some((h, Some(next))) = hours.get(&team)
        && !h.is_open(at)
        && seen.len() <= switchboard_core::routing::MAX_HOPS
        && !seen.contains(next)
    {
        team = next.clone();
        seen.push(team.clone());
    }
    Some(team)
}

impl Store {
    async fn team_hours(&self, candidate: &Playbook) -> Result<TeamHours, StoreError> {
        let mut map: TeamHours = self
            .pool
            .read(|c| {
                c.query(
                    "SELECT t.slug, t.hours, o.slug FROM teams t LEFT JOIN teams o ON o.id = t.overflow_team_id",
                    &[],
                )?
                .iter()
                .map(|r| Ok((r.text(0)?, (team_hours(r.opt_text(1)?)?, r.opt_text(2)?))))
                .collect()
            })
            .await?;
        for t in &candidate.teams {
            let h = match &t.hours {
                Some(spec) => BusinessHours::from_spec(spec).map_err(bad)?,
                None => BusinessHours::always(),
            };
            map.insert(t.id.clone(), (h, t.overflow.clone()));
        }
        Ok(map)
    }

    /// Replays the cases created in `[since, until)` through `playbook` (see the module docs).
    pub async fn simulate_playbook(
        &self,
        playbook: Playbook,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<SimulationReport, StoreError> {
        let started = std::time::Instant::now();
        let playbook = std::sync::Arc::new(playbook);
        let mut matched = vec![0u64; playbook.rules.len()];
        let mut teams: BTreeMap<Option<String>, (u64, u64)> = BTreeMap::new();
        let mut purposes: BTreeMap<Option<String>, (u64, u64)> = BTreeMap::new();
        let mut report = SimulationReport {
            since,
            until,
            cases: 0,
            unmatched: 0,
            rules: vec![],
            teams: vec![],
            purposes: vec![],
            routed_differently: 0,
            examples: vec![],
            elapsed_ms: 0,
        };
        // Per contact, when each of their cases in the window was resolved (None: still open).
        let mut contact_cases: HashMap<String, Vec<Option<i64>>> = HashMap::new();
        let hours = self.team_hours(&playbook).await?;
        let mut after = (since.as_unix_micros(), uuid::Uuid::nil().to_string());
        // Pages are evaluated without the open-case count; the few cases it could change are
        // evaluated again here, with it.
        let uses_open_cases = playbook
            .rules
            .iter()
            .any(|r| r.when.min_open_cases.is_some());
        let index: HashMap<String, usize> = playbook
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.clone(), i))
            .collect();
        loop {
            let pb = playbook.clone();
            let (last, page) = self
                .pool
                .read(move |c| {
                    let rows = c.query(
                        "SELECT c.id, c.created_at, c.purpose, t.slug, v.channel_id, v.public, ch.kind, ch.name, \
                         (SELECT m.text FROM messages m WHERE m.case_id = c.id AND m.direction = 'inbound' ORDER BY m.created_at, m.id LIMIT 1), \
                         ct.tags, c.contact_id, i.followers, i.verified, c.resolved_at, \
                         (SELECT m.understanding FROM messages m WHERE m.case_id = c.id AND m.direction = 'inbound' ORDER BY m.created_at, m.id LIMIT 1), \
                         (SELECT te.label FROM training_examples te WHERE te.case_id = c.id AND te.kind = 'purpose' ORDER BY te.created_at DESC, te.id DESC LIMIT 1) \
                         FROM cases c JOIN conversations v ON v.id = c.conversation_id \
                         JOIN channels ch ON ch.id = v.channel_id \
                         JOIN contacts ct ON ct.id = c.contact_id \
                         LEFT JOIN teams t ON t.id = c.team_id \
                         LEFT JOIN identities i ON i.contact_id = c.contact_id AND i.channel_id = v.channel_id \
                         WHERE (c.created_at > $1 OR (c.created_at = $1 AND c.id > $2)) AND c.created_at < $3 \
                         ORDER BY c.created_at, c.id LIMIT $4",
                        params![after.0, after.1.clone(), until.as_unix_micros(), PAGE],
                    )?;
                    let mut cases = Vec::with_capacity(rows.len());
                    let mut resolved = Vec::with_capacity(rows.len());
                    for r in &rows {
                        let mut case = replay_from_row(r)?;
                        case.facts.in_business_hours = Some(pb.hours.is_open(case.created_at));
                        cases.push(case);
                        resolved.push(r.opt_int(13)?);
                    }
                    let last = cases.last().map(|c| (c.created_at.as_unix_micros(), c.id.to_string()));
                    let outcomes = evaluate_parallel(&pb, &cases);
                    Ok((last, (cases, resolved, outcomes)))
                })
                .await?;
            let (cases, resolved, outcomes) = page;
            for ((mut case, resolved_at), outcome) in cases.into_iter().zip(resolved).zip(outcomes)
            {
                // Facts that depend on earlier cases: the open ones when this one began.
                let at = case.created_at.as_unix_micros();
                let earlier = contact_cases
                    .entry(std::mem::take(&mut case.contact))
                    .or_default();
                let open = earlier.iter().filter(|r| r.is_none_or(|t| t > at)).count();
                earlier.push(resolved_at);
                let outcome = if open > 0 && uses_open_cases {
                    case.facts.open_cases = open as u32;
                    evaluate(&playbook, &index, std::slice::from_ref(&case))
                        .pop()
                        .unwrap_or(outcome)
                } else {
                    outcome
                };
                let outcome = Outcome {
                    team: follow_closed(&hours, outcome.team.clone(), case.created_at),
                    ..outcome
                };
                report.cases += 1;
                if outcome.fired.is_empty() {
                    report.unmatched += 1;
                }
                for &i in &outcome.fired {
                    matched[i] += 1;
                }
                teams.entry(outcome.team.clone()).or_default().0 += 1;
                teams.entry(case.team.clone()).or_default().1 += 1;
                purposes.entry(Some(outcome.purpose.clone())).or_default().0 += 1;
                purposes.entry(Some(case.purpose.clone())).or_default().1 += 1;
                if outcome.purpose != case.purpose || outcome.team != case.team {
                    report.routed_differently += 1;
                    if report.examples.len() < EXAMPLES {
                        report.examples.push(Example {
                            case_id: case.id,
                            created_at: case.created_at,
                            text: cut(
                                &switchboard_core::guard::hide_card_and_id_numbers(
                                    &case.facts.text,
                                ),
                                200,
                            ),
                            actual: Routing {
                                purpose: case.purpose.clone(),
                                team: case.team.clone(),
                            },
                            simulated: Routing {
                                purpose: outcome.purpose.clone(),
                                team: outcome.team.clone(),
                            },
                            fired: outcome
                                .fired
                                .iter()
                                .map(|&i| playbook.rules[i].name.clone())
                                .collect(),
                        });
                    }
                }
            }
            match last {
                Some(l) => after = l,
                None => break,
            }
        }
        report.rules = playbook
            .rules
            .iter()
            .zip(matched)
            .map(|(r, matched)| RuleCount {
                rule: r.name.clone(),
                line: r.line,
                matched,
            })
            .collect();
        let volumes = |m: BTreeMap<Option<String>, (u64, u64)>| {
            m.into_iter()
                .map(|(name, (simulated, actual))| Volume {
                    name,
                    simulated,
                    actual,
                })
                .collect()
        };
        report.teams = volumes(teams);
        report.purposes = volumes(purposes);
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }
}
