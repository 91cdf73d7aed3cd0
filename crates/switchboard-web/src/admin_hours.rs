//! The admin page's view of business hours and SLA policies, read from the active playbook
//! (where they are edited, checked and simulated with the rest of the routing).

use maud::{Markup, html};
use switchboard_core::schedule::HoursSpec;
use switchboard_server::AppState;

/// A duration in microseconds as the playbook writes it: `45m`, `4h`, `2d4h30m`.
fn span(micros: i64) -> String {
    let secs = micros / 1_000_000;
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "m"), (s, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n}{u}"))
        .collect();
    if parts.is_empty() {
        "0s".to_owned()
    } else {
        parts.concat()
    }
}

fn week(h: &HoursSpec) -> Markup {
    let days = [
        ("Mon", &h.mon),
        ("Tue", &h.tue),
        ("Wed", &h.wed),
        ("Thu", &h.thu),
        ("Fri", &h.fri),
        ("Sat", &h.sat),
        ("Sun", &h.sun),
    ];
    html! {
        (h.timezone) ": "
        @for (i, (day, hours)) in days.iter().enumerate() {
            @if i > 0 { "; " }
            (day) " " (hours.as_deref().unwrap_or("closed"))
        }
        @if !h.holidays.is_empty() { "; closed on " (h.holidays.join(", ")) }
    }
}

/// The active playbook: `None` when none is active; `Err` when it is but cannot be read.
pub type Active = Result<Option<switchboard_core::playbook::Playbook>, String>;

/// Reads and checks the active playbook.
pub async fn active_playbook(state: &AppState) -> Active {
    match state.store.playbook(None).await {
        Ok(p) => match p.source {
            Some(s) => state
                .store
                .check_playbook(s)
                .await
                .map(Some)
                .map_err(|e| e.to_string()),
            None => Ok(None),
        },
        Err(switchboard_store::StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// The section, or a note when no playbook is active or it cannot be read.
pub fn section(playbook: &Active) -> Markup {
    html! {
        section #hours {
            h2 { "Business hours and SLA policies" }
            @match &playbook {
                Err(why) => p.error role="alert" { "The active playbook's hours and SLAs cannot be shown (" (why) "). "
                    a href="/admin/playbook" { "Open the playbook" } "." },
                Ok(None) => p.hint { "No playbook is active: every team is open all the time and no SLA applies. "
                    a href="/admin/playbook" { "Write one" } "." },
                Ok(Some(pb)) => {
                    table.grid {
                        caption.hint { "When people work. Outside these hours SLA clocks stop (business time) and rules can route elsewhere." }
                        thead { tr { th scope="col" { "Who" } th scope="col" { "Hours" } } }
                        tbody {
                            tr { th scope="row" { "The workspace" }
                                td { @if pb.hours.is_always_open() { "always open" } @else { (week(&pb.hours.to_spec())) } } }
                            @for t in &pb.teams {
                                tr { th scope="row" { (t.name) }
                                    td { @match &t.hours { Some(h) => (week(h)), None => "the workspace's hours" } } }
                            }
                        }
                    }
                    @if pb.slas.is_empty() {
                        p.hint { "No SLA policies." }
                    } @else {
                        table.grid {
                            caption.hint { "The first policy that matches a case applies." }
                            thead { tr { th scope="col" { "SLA" } th scope="col" { "Purpose" } th scope="col" { "Priority" }
                                th scope="col" { "First response" } th scope="col" { "Next response" } th scope="col" { "Resolution" } } }
                            tbody {
                                @for s in &pb.slas {
                                    tr { th scope="row" { (s.name) }
                                        td { (s.purpose.as_ref().map_or("any", |p| p.as_str())) }
                                        td { (s.priority.map_or("any", |p| p.as_str())) }
                                        @for t in [s.first_response, s.next_response, s.resolution] {
                                            td { (t.map_or("—".to_owned(), span)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    p { a href="/admin/playbook" { "Change hours and SLAs in the playbook" } " (check and simulate before you publish)." }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::span;

    #[test]
    fn spans_read_like_people_say_them() {
        assert_eq!(span(45 * 60_000_000), "45m");
        assert_eq!(span(4 * 3_600_000_000), "4h");
        assert_eq!(span((52 * 60 + 30) * 60_000_000), "2d4h30m");
        assert_eq!(span(30_000_000), "30s");
        assert_eq!(span(90_000_000), "1m30s");
    }
}
