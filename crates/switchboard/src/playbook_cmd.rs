//! `switchboard playbook …`: check, apply, list, show, restore and simulate playbooks. They
//! work on the database directly, so they run while the server runs; a running server picks
//! up a new version at its next ingest batch.

use crate::{StoreArgs, now, usage};
use anyhow::Context;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use switchboard_core::playbook::PlaybookError;
use switchboard_store::{Actor, Location, SimulationReport, StoreError};

#[derive(Subcommand)]
pub enum PlaybookCommand {
    /// Check a playbook file: exit 0 if it is valid, else print every problem as
    /// FILE:LINE:COL: message and exit 1. Teams may be declared in the file or exist in the
    /// workspace's database (when there is one at --data-dir / --database).
    Check {
        #[command(flatten)]
        store: StoreArgs,
        /// The playbook (TOML).
        file: PathBuf,
    },
    /// Install a playbook file as the next version and make it active. An invalid file is
    /// refused with every problem; the active playbook stays.
    Apply {
        #[command(flatten)]
        store: StoreArgs,
        file: PathBuf,
    },
    /// List the installed versions, newest first.
    Versions {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print a version's text (default: the active one).
    Show {
        #[command(flatten)]
        store: StoreArgs,
        version: Option<i64>,
    },
    /// Make an old version active again (installed as a new version).
    Restore {
        #[command(flatten)]
        store: StoreArgs,
        version: i64,
    },
    /// Replay stored cases through a candidate playbook and report what it would do: per rule
    /// the cases it would match, per team and purpose the volume, and the cases it would
    /// route differently, with examples. Changes nothing.
    Simulate {
        #[command(flatten)]
        store: StoreArgs,
        file: PathBuf,
        /// How far back: a duration (30d, 12h) or an RFC 3339 time.
        #[arg(long, default_value = "30d")]
        since: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn read(file: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

/// Prints every problem as FILE:LINE:COL: message and fails.
fn problems(file: &Path, errors: &[PlaybookError]) -> anyhow::Error {
    for e in errors {
        println!("{}:{e}", file.display());
    }
    anyhow::anyhow!("{} problem(s) in {}", errors.len(), file.display())
}

fn database_exists(args: &StoreArgs) -> anyhow::Result<bool> {
    Ok(match args.location()? {
        Location::Sqlite(db) => db.exists(),
        Location::Postgres(_) => true,
    })
}

pub async fn run(command: PlaybookCommand) -> anyhow::Result<()> {
    match command {
        PlaybookCommand::Check { store, file } => {
            let source = read(&file)?;
            let checked = if database_exists(&store)? {
                match store.open().await?.check_playbook(source).await {
                    Ok(pb) => Ok(pb),
                    Err(StoreError::InvalidPlaybook(errs)) => Err(errs),
                    Err(e) => return Err(e.into()),
                }
            } else {
                switchboard_core::playbook::parse(&source, &[])
            };
            match checked {
                Ok(pb) => {
                    println!(
                        "{}: valid ({} teams, {} rules)",
                        file.display(),
                        pb.teams.len(),
                        pb.rules.len()
                    );
                    Ok(())
                }
                Err(errors) => Err(problems(&file, &errors)),
            }
        }
        PlaybookCommand::Apply { store, file } => {
            let source = read(&file)?;
            let store = store.open_existing().await?;
            match store.apply_playbook(source, Actor::System, now()).await {
                Ok(v) => {
                    println!(
                        "applied {} as version {} ({}; sha256 {})",
                        file.display(),
                        v.version,
                        v.summary,
                        &v.digest[..12]
                    );
                    Ok(())
                }
                Err(StoreError::InvalidPlaybook(errs)) => {
                    let e = problems(&file, &errs);
                    Err(e.context("not applied; the active playbook is unchanged"))
                }
                Err(e) => Err(e.into()),
            }
        }
        PlaybookCommand::Versions { store } => {
            let list = store.open_existing().await?.list_playbooks().await?;
            if list.is_empty() {
                println!("no playbook has been applied yet");
            }
            for v in list {
                println!(
                    "{}{:>4}  {}  {:<20}  {}{}",
                    if v.active { "*" } else { " " },
                    v.version,
                    v.created_at.to_rfc3339(),
                    v.created_by,
                    v.summary,
                    v.restored_from
                        .map(|r| format!("  (restored from {r})"))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        PlaybookCommand::Show { store, version } => {
            match store.open_existing().await?.playbook(version).await {
                Ok(v) => {
                    print!("{}", v.source.unwrap_or_default());
                    Ok(())
                }
                Err(StoreError::NotFound) => Err(match version {
                    Some(n) => anyhow::anyhow!("there is no playbook version {n}"),
                    None => anyhow::anyhow!("no playbook has been applied yet"),
                }),
                Err(e) => Err(e.into()),
            }
        }
        PlaybookCommand::Restore { store, version } => {
            match store
                .open_existing()
                .await?
                .restore_playbook(version, Actor::System, now())
                .await
            {
                Ok(v) => {
                    println!(
                        "restored version {version} as version {} ({})",
                        v.version, v.summary
                    );
                    Ok(())
                }
                Err(StoreError::NotFound) => {
                    Err(anyhow::anyhow!("there is no playbook version {version}"))
                }
                Err(StoreError::InvalidPlaybook(errs)) => Err(anyhow::anyhow!(
                    "version {version} no longer checks against the workspace: {}",
                    errs.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                )),
                Err(e) => Err(e.into()),
            }
        }
        PlaybookCommand::Simulate {
            store,
            file,
            since,
            json,
        } => {
            let now = now();
            let since = switchboard_server::api::parse_since(&since, now)
                .map_err(|e| usage(format!("--since: {e}")))?;
            let source = read(&file)?;
            let store = store.open_existing().await?;
            let pb = match store.check_playbook(source).await {
                Ok(pb) => pb,
                Err(StoreError::InvalidPlaybook(errs)) => return Err(problems(&file, &errs)),
                Err(e) => return Err(e.into()),
            };
            let report = store.simulate_playbook(pb, since, now).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", render(&file, &report));
            }
            Ok(())
        }
    }
}

fn render(file: &Path, r: &SimulationReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let pct = |n: u64| {
        if r.cases == 0 {
            0.0
        } else {
            n as f64 * 100.0 / r.cases as f64
        }
    };
    let _ = writeln!(
        out,
        "Simulated {} on {} cases created since {} ({:.1} s)\n",
        file.display(),
        r.cases,
        r.since.to_rfc3339(),
        r.elapsed_ms as f64 / 1000.0
    );
    let _ = writeln!(out, "Rules (cases each would match):");
    for rule in &r.rules {
        let _ = writeln!(
            out,
            "  {:>9}  line {:<4} {}",
            rule.matched, rule.line, rule.rule
        );
    }
    let _ = writeln!(out, "  {:>9}  no rule matched\n", r.unmatched);
    for (title, list) in [("Teams", &r.teams), ("Purposes", &r.purposes)] {
        let _ = writeln!(out, "{title} (simulated / actual):");
        for v in list {
            let _ = writeln!(
                out,
                "  {:<24} {:>9} / {:<9}",
                v.name.as_deref().unwrap_or("(none)"),
                v.simulated,
                v.actual
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "Routed differently: {} of {} cases ({:.1}%)",
        r.routed_differently,
        r.cases,
        pct(r.routed_differently)
    );
    for e in &r.examples {
        let _ = writeln!(
            out,
            "  {}  {}/{} -> {}/{}  {:?}\n      fired: {}",
            e.case_id,
            e.actual.purpose,
            e.actual.team.as_deref().unwrap_or("-"),
            e.simulated.purpose,
            e.simulated.team.as_deref().unwrap_or("-"),
            e.text,
            if e.fired.is_empty() {
                "(none)".to_owned()
            } else {
                e.fired.join(", ")
            }
        );
    }
    out
}
