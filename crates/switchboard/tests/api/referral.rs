//! Referral (issue 7): Tier 1 hands a case to the owning department in one action, with the
//! reason, and can tell the customer who will answer and by when (the team's hours and SLA).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

const PLAYBOOK: &str = r#"
[[team]]
id = "front-desk"
name = "Front desk"

[[team]]
id = "admissions"
name = "Admissions"
[team.hours]
timezone = "Europe/Berlin"
mon = "00:00-24:00"
tue = "00:00-24:00"
wed = "00:00-24:00"
thu = "00:00-24:00"
fri = "00:00-24:00"
sat = "00:00-24:00"
sun = "00:00-24:00"

[[purpose]]
id = "admissions"
name = "Admissions"

[[sla]]
name = "Admissions answer within four hours"
purpose = "admissions"
first_response = "4h"

[[rule]]
name = "Everything starts at the front desk"
then.purpose = "tier1"
then.team = "front-desk"
"#;

fn unix_micros(v: &Value) -> i64 {
    let s = v.as_str().expect("a timestamp");
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    (t.unix_timestamp_nanos() / 1000) as i64
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_micros() as i64
}

#[tokio::test]
async fn tier1_refers_a_case_in_one_action_and_tells_the_customer_who_and_when() {
    let app = spawn_app().await;
    let partner = FakePartner::start(&[], 200).await;
    let ch = app.create_channel(&partner.url).await;
    app.apply_playbook(PLAYBOOK).await;
    let (front, admissions) = (
        app.team_id("front-desk").await,
        app.team_id("admissions").await,
    );

    app.deliver(
        &ch,
        &message(
            "r-1",
            "conv-r1",
            "ann",
            "How do I apply for the nursing programme?",
        ),
    )
    .await;
    let case = app.wait_for_message("r-1").await;
    let id = case["id"].as_str().expect("id").to_owned();
    assert_eq!(
        (case["purpose"].as_str(), case["team"].as_str()),
        (Some("tier1"), Some(front.as_str()))
    );
    let refer = format!("/api/v1/cases/{id}/refer");

    // A dry run says what the customer would be told; nothing changes.
    let before = now_micros();
    let dry = app
        .post(
            &refer,
            &app.agent,
            &json!({"team": admissions, "purpose": "admissions", "reason": "an application question", "dry_run": true}),
        )
        .await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.text);
    let e = &dry.json["expectation"];
    assert_eq!(e["team"], "Admissions");
    assert_eq!(e["open_now"], true);
    assert_eq!(e["timezone"], "Europe/Berlin");
    let by = unix_micros(&e["answer_by"]) - before;
    let four_hours = 4 * 3_600_000_000i64;
    assert!(
        (four_hours..four_hours + 60_000_000).contains(&by),
        "the SLA's 4 hours from now: {}",
        dry.text
    );
    let text = dry.json["text"].as_str().expect("text");
    assert!(
        text.contains("our Admissions team")
            && text.contains("You can expect their answer by")
            && text.contains("(Europe/Berlin)"),
        "{text}"
    );

    // Bad requests are refused with the field at fault, and change nothing.
    for (body, status, fieldname) in [
        (
            json!({"team": "0190a4d0-0000-7000-8000-000000000000", "reason": "x"}),
            422,
            "team",
        ),
        (json!({"team": "not-an-id", "reason": "x"}), 400, "team"),
        (
            json!({"team": admissions, "purpose": "nope", "reason": "x"}),
            422,
            "purpose",
        ),
        (json!({"team": admissions, "reason": "  "}), 400, "reason"),
        (
            json!({"team": admissions, "reason": "x", "text": "hello"}),
            400,
            "text",
        ),
        (
            json!({"team": admissions, "reason": "x", "tell_customer": true, "text": ""}),
            400,
            "text",
        ),
    ] {
        let r = app.post(&refer, &app.agent, &body).await;
        assert_eq!(r.status.as_u16(), status, "{body}: {}", r.text);
        assert_eq!(r.json["field"], fieldname, "{body}: {}", r.text);
    }
    app.post(
        &refer,
        &app.reviewer,
        &json!({"team": admissions, "reason": "x"}),
    )
    .await
    .assert_problem(403, "forbidden");
    let unchanged = app.case(&id).await;
    assert_eq!(unchanged["purpose"], "tier1");
    assert_eq!(unchanged["team"], front.as_str());
    assert_eq!(unchanged["messages"].as_array().expect("messages").len(), 1);

    // The referral itself: purpose, team, the reason as a note, the customer told.
    let r = app
        .post(
            &refer,
            &app.agent,
            &json!({"team": admissions, "purpose": "admissions", "reason": "an application question", "tell_customer": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["case"]["purpose"], "admissions");
    assert_eq!(r.json["case"]["team"], admissions.as_str());
    assert_eq!(r.json["told"]["direction"], "outbound");
    let after = app.case(&id).await;
    let messages = after["messages"].as_array().expect("messages");
    assert!(
        messages.iter().any(|m| m["direction"] == "note"
            && m["text"]
                .as_str()
                .unwrap_or("")
                .contains("an application question")),
        "{after}"
    );
    let told = r.json["text"].as_str().expect("text").to_owned();
    wait_for("the customer told", || async {
        partner
            .received()
            .iter()
            .filter_map(|x| serde_json::from_slice::<Value>(&x.body).ok())
            .any(|v| v["text"] == told.as_str())
            .then_some(())
    })
    .await;
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "case.referred")
    );
    // With the SLA's clock on the case under its new purpose.
    let due = after["sla"]["targets"][0]["due_at"].clone();
    assert!(
        (unix_micros(&due) - unix_micros(&r.json["expectation"]["answer_by"])).abs() < 60_000_000,
        "what the customer was told is what the SLA says: {after}"
    );

    // Own words, without telling anything automatically: the text is the agent's.
    app.deliver(
        &ch,
        &message("r-2", "conv-r2", "bob", "Scholarship deadlines?"),
    )
    .await;
    let case2 = app.wait_for_message("r-2").await;
    let r = app
        .post(
            &format!("/api/v1/cases/{}/refer", case2["id"].as_str().expect("id")),
            &app.agent,
            &json!({"team": admissions, "reason": "aid", "tell_customer": true, "text": "Our admissions office will write to you today."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json["told"]["text"],
        "Our admissions office will write to you today."
    );
    assert_eq!(r.json["case"]["purpose"], "tier1", "no purpose given: kept");
}
