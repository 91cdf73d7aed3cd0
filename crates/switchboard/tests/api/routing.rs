//! Routing by playbook (issue 3): apply, versions, restore, routing at ingest with the fired
//! rules recorded, assignment strategies and overflow, simulation, and their errors.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The example of issue 3 (with a two-line comment on top).
pub const EXAMPLE: &str = include_str!("../../../../examples/playbook.toml");

/// A webhook body with the public flag and author signals.
fn post(id: &str, from: &str, text: &str, public: bool) -> String {
    json!({
        "id": id,
        "conversation": format!("conv-{id}"),
        "public": public,
        "from": {"id": from, "name": format!("Customer {from}"), "followers": 12000, "verified": true},
        "text": text,
    })
    .to_string()
}

async fn apply(app: &TestApp, source: &str) -> Answer {
    app.put("/api/v1/playbook", &app.admin, &json!({ "source": source }))
        .await
}

async fn teams_by_slug(app: &TestApp) -> Value {
    let a = app.get("/api/v1/teams", &app.admin).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let mut out = serde_json::Map::new();
    for t in a.json["items"].as_array().unwrap() {
        out.insert(t["slug"].as_str().unwrap().to_owned(), t.clone());
    }
    Value::Object(out)
}

async fn user(app: &TestApp, username: &str) -> String {
    let a = app
        .post(
            "/api/v1/users",
            &app.admin,
            &json!({"username": username, "display_name": username, "role": "agent"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    a.json["id"].as_str().unwrap().to_owned()
}

async fn join(app: &TestApp, team: &str, user: &str, availability: &str) {
    let a = app
        .post(
            &format!("/api/v1/teams/{team}/members"),
            &app.admin,
            &json!({ "user_id": user }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = app
        .put(
            &format!("/api/v1/users/{user}/availability"),
            &app.admin,
            &json!({ "availability": availability }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["availability"], availability);
}

#[tokio::test]
async fn the_issue_example_applies_in_an_empty_workspace_and_routes_with_reasons() {
    let app = spawn_app().await;
    let a = app.get("/api/v1/playbook", &app.admin).await;
    a.assert_problem(404, "not_found");

    let a = apply(&app, EXAMPLE).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json["version"], 1);
    assert_eq!(a.json["summary"], "4 teams, 3 rules");
    assert_eq!(a.json["active"], true);
    let teams = teams_by_slug(&app).await;
    assert_eq!(teams["pr"]["name"], "Marketing & PR");
    assert_eq!(teams.as_object().unwrap().len(), 4);

    let ch = app.create_channel(NOWHERE).await;
    app.deliver(
        &ch,
        &post("m-1", "u-1", "Is there an OUTAGE? Nothing loads", true),
    )
    .await;
    app.deliver(
        &ch,
        &post("m-2", "u-2", "What are your opening hours?", false),
    )
    .await;
    let crisis = app.wait_for_message("m-1").await;
    let crisis = app.case(crisis["id"].as_str().unwrap()).await;
    assert_eq!(crisis["purpose"], "crisis");
    assert_eq!(crisis["priority"], "urgent");
    assert_eq!(crisis["team"], teams["pr"]["id"]);
    assert_eq!(crisis["approval_team"], teams["legal"]["id"]);
    let routing = &crisis["routing"];
    assert_eq!(routing["playbook_version"], 1);
    let fired = routing["fired"].as_array().unwrap();
    assert_eq!(fired.len(), 2, "{routing}");
    assert_eq!(
        fired[0]["rule"],
        "Outage or legal threat in public goes to PR"
    );
    assert_eq!(fired[0]["line"], 19);
    assert_eq!(
        fired[0]["reasons"],
        json!(["public", "text contains \"outage\""])
    );
    assert_eq!(fired[1]["reasons"], json!(["no conditions: always"]));
    assert_eq!(routing["placement"]["team"], "pr");
    assert_eq!(
        routing["placement"]["queued"],
        "the team assigns cases by hand"
    );

    let desk = app.wait_for_message("m-2").await;
    let desk = app.case(desk["id"].as_str().unwrap()).await;
    assert_eq!(
        (&desk["purpose"], &desk["team"], &desk["priority"]),
        (
            &json!("tier1"),
            &teams["front-desk"]["id"],
            &json!("normal")
        )
    );
    assert_eq!(desk["routing"]["fired"].as_array().unwrap().len(), 1);

    // The decision is in the audit log too.
    let audit = app.get("/api/v1/audit", &app.admin).await;
    let routed: Vec<&Value> = audit.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "case.routed")
        .collect();
    assert_eq!(routed.len(), 2, "{}", audit.text);
}

#[tokio::test]
async fn an_invalid_playbook_is_refused_with_every_problem_and_changes_nothing() {
    let app = spawn_app().await;
    assert_eq!(apply(&app, EXAMPLE).await.status, StatusCode::CREATED);
    let before = teams_by_slug(&app).await;
    let bad = "[[team]]\nid = \"new-team\"\nname = \"New\"\n\n[[rule]]\nname = \"x\"\nwhen.text_regex = \"(\"\nthen.team = \"nobody\"\n";
    let a = apply(&app, bad).await;
    let p = a.assert_problem(422, "invalid_playbook");
    let errors = p["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{}", a.text);
    assert_eq!(
        (&errors[0]["line"], &errors[0]["column"]),
        (&json!(7), &json!(19))
    );
    assert!(
        errors[1]["message"]
            .as_str()
            .unwrap()
            .contains("unknown team \"nobody\"")
    );
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("the active playbook is unchanged")
    );
    // Nothing changed: same active version, no new team.
    let active = app.get("/api/v1/playbook", &app.admin).await;
    assert_eq!(active.json["version"], 1);
    assert_eq!(active.json["source"], EXAMPLE);
    assert_eq!(teams_by_slug(&app).await, before);
    let versions = app.get("/api/v1/playbook/versions", &app.admin).await;
    assert_eq!(versions.json["items"].as_array().unwrap().len(), 1);

    // Check says the same without installing.
    let a = app
        .post(
            "/api/v1/playbook/check",
            &app.admin,
            &json!({ "source": bad }),
        )
        .await;
    a.assert_problem(422, "invalid_playbook");
    let a = app
        .post(
            "/api/v1/playbook/check",
            &app.admin,
            &json!({ "source": EXAMPLE }),
        )
        .await;
    assert_eq!(a.json, json!({"valid": true, "teams": 4, "rules": 3}));

    // Wrong shapes and roles.
    app.put("/api/v1/playbook", &app.admin, &json!({ "src": EXAMPLE }))
        .await
        .assert_problem(400, "invalid_field");
    app.put(
        "/api/v1/playbook",
        &app.agent,
        &json!({ "source": EXAMPLE }),
    )
    .await
    .assert_problem(403, "forbidden");
    let huge = "#".repeat((1 << 20) + 1);
    app.put("/api/v1/playbook", &app.admin, &json!({ "source": huge }))
        .await
        .assert_problem(400, "invalid_field");
}

#[tokio::test]
async fn versions_are_kept_and_an_old_one_can_be_restored() {
    let app = spawn_app().await;
    assert_eq!(apply(&app, EXAMPLE).await.status, StatusCode::CREATED);
    let v2 = EXAMPLE.replace(
        "then.purpose = \"tier1\"\nthen.team = \"front-desk\"",
        "then.purpose = \"support\"\nthen.team = \"front-desk\"",
    );
    let a = apply(&app, &v2).await;
    assert_eq!(a.json["version"], 2);

    let ch = app.create_channel(NOWHERE).await;
    app.deliver(&ch, &post("m-1", "u-1", "hello", false)).await;
    let c = app.wait_for_message("m-1").await;
    assert_eq!(
        app.case(c["id"].as_str().unwrap()).await["purpose"],
        "support"
    );

    let a = app
        .post(
            "/api/v1/playbook/versions/1/restore",
            &app.supervisor,
            &json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(
        (&a.json["version"], &a.json["restored_from"]),
        (&json!(3), &json!(1))
    );
    let list = app.get("/api/v1/playbook/versions", &app.admin).await;
    let list = list.json["items"].as_array().unwrap().clone();
    let shown: Vec<(i64, bool)> = list
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["active"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(shown, [(3, true), (2, false), (1, false)]);
    assert!(list[0].get("source").is_none(), "lists leave the text out");
    let one = app.get("/api/v1/playbook/versions/2", &app.admin).await;
    assert_eq!(one.json["source"], v2.as_str());

    // The restored version routes the next case.
    app.deliver(&ch, &post("m-2", "u-2", "hello again", false))
        .await;
    let c = app.wait_for_message("m-2").await;
    let c = app.case(c["id"].as_str().unwrap()).await;
    assert_eq!(c["purpose"], "tier1");
    assert_eq!(c["routing"]["playbook_version"], 3);

    for path in ["/api/v1/playbook/versions/9", "/api/v1/playbook/versions/x"] {
        app.get(path, &app.admin)
            .await
            .assert_problem(404, "not_found");
    }
    app.post(
        "/api/v1/playbook/versions/9/restore",
        &app.admin,
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    app.post(
        "/api/v1/playbook/versions/1/restore",
        &app.agent,
        &json!({}),
    )
    .await
    .assert_problem(403, "forbidden");
    // The version in force again: nothing to restore, no copy made.
    app.post(
        "/api/v1/playbook/versions/3/restore",
        &app.admin,
        &json!({}),
    )
    .await
    .assert_problem(409, "conflict");
    assert_eq!(
        app.get("/api/v1/playbook", &app.admin).await.json["version"],
        3
    );
    let audit = app.get("/api/v1/audit", &app.admin).await;
    let actions: Vec<&str> = audit.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str().filter(|a| a.starts_with("playbook.")))
        .collect();
    assert_eq!(
        actions,
        ["playbook.restored", "playbook.applied", "playbook.applied"]
    );
}

const ASSIGNING: &str = r#"[[team]]
id = "support"
name = "Support"
strategy = "least_loaded"
capacity = 2
overflow = "backup"

[[team]]
id = "backup"
name = "Backup"
strategy = "round_robin"

[[rule]]
name = "VIPs need a German speaker"
when.author_tags_any = ["vip"]
then.team = "support"
then.skills = ["german"]
then.tags = ["vip"]

[[rule]]
name = "Support"
then.purpose = "support"
then.team = "support"
"#;

#[tokio::test]
async fn teams_assign_by_strategy_capacity_skills_and_overflow() {
    let app = spawn_app().await;
    assert_eq!(apply(&app, ASSIGNING).await.status, StatusCode::CREATED);
    let teams = teams_by_slug(&app).await;
    assert_eq!(teams["support"]["strategy"], "least_loaded");
    assert_eq!(teams["support"]["capacity"], 2);
    assert_eq!(teams["support"]["overflow"], "backup");
    let support = teams["support"]["id"].as_str().unwrap().to_owned();
    let backup = teams["backup"]["id"].as_str().unwrap().to_owned();
    let ann = user(&app, "ann").await;
    let bob = user(&app, "bob").await;
    let cy = user(&app, "cy").await;
    join(&app, &support, &ann, "online").await;
    join(&app, &support, &bob, "online").await;
    join(&app, &support, &cy, "away").await;
    join(&app, &backup, &cy, "away").await;
    let a = app
        .put(
            &format!("/api/v1/teams/{support}/members/{bob}/skills"),
            &app.admin,
            &json!({"skills": ["German", "billing"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    let ch = app.create_channel(NOWHERE).await;
    let mut assignees = Vec::new();
    for i in 0..5 {
        app.deliver(
            &ch,
            &post(&format!("m-{i}"), &format!("u-{i}"), "help", false),
        )
        .await;
        let m = app.wait_for_message(&format!("m-{i}")).await;
        let c = app.case(m["id"].as_str().unwrap()).await;
        assignees.push((c["team"].clone(), c["assignee"].clone()));
    }
    // Least loaded alternates ann/bob up to capacity 2 each; then support is full and the
    // case overflows to backup, where nobody is online: it waits there.
    let s = json!(support);
    assert_eq!(
        assignees,
        [
            (s.clone(), json!(ann)),
            (s.clone(), json!(bob)),
            (s.clone(), json!(ann)),
            (s.clone(), json!(bob)),
            (json!(backup), Value::Null),
        ]
    );
    let last = app.wait_for_message("m-4").await;
    let last = app.case(last["id"].as_str().unwrap()).await;
    let placement = &last["routing"]["placement"];
    assert_eq!(placement["overflow"][0]["from"], "support");
    assert_eq!(placement["overflow"][0]["to"], "backup");
    assert!(
        placement["overflow"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("capacity"),
        "{placement}"
    );
    assert_eq!(placement["queued"], "no member of the team is online");

    // A VIP contact needs the German skill: only bob has it, and he is full; ann is not
    // eligible, so the case overflows too.
    let vip = last["contact_id"].as_str().unwrap();
    let a = app
        .patch(
            &format!("/api/v1/contacts/{vip}"),
            &app.agent,
            &json!({"tags": ["VIP"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(
        a.json["tags"],
        json!(["VIP"]),
        "kept as written; matching ignores case"
    );
    // Free one of bob's cases: resolve it.
    let bobs = app
        .get(&format!("/api/v1/cases?assignee={bob}"), &app.admin)
        .await;
    let first_of_bob = bobs.json["items"][0]["id"].as_str().unwrap().to_owned();
    let a = app
        .patch(
            &format!("/api/v1/cases/{first_of_bob}"),
            &app.admin,
            &json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    app.deliver(
        &ch,
        &json!({"id": "m-vip", "conversation": "vip-2", "from": {"id": "u-4"}, "text": "Hallo"})
            .to_string(),
    )
    .await;
    let m = app.wait_for_message("m-vip").await;
    let c = app.case(m["id"].as_str().unwrap()).await;
    assert_eq!(c["assignee"], json!(bob), "{}", c["routing"]);
    assert_eq!(c["skills"], json!(["german"]));
    assert_eq!(c["tags"], json!(["vip"]));
    assert_eq!(
        c["routing"]["fired"][0]["reasons"],
        json!(["author is tagged vip"])
    );
}

#[tokio::test]
async fn team_settings_skills_and_availability_reject_bad_input() {
    let app = spawn_app().await;
    assert_eq!(apply(&app, ASSIGNING).await.status, StatusCode::CREATED);
    let teams = teams_by_slug(&app).await;
    let support = teams["support"]["id"].as_str().unwrap();
    let path = format!("/api/v1/teams/{support}");
    let cases: [(Value, &str); 6] = [
        (json!({"strategy": "random"}), "strategy"),
        (json!({"capacity": 0}), "capacity"),
        (json!({"capacity": "two"}), "capacity"),
        (json!({"overflow": "nowhere"}), "overflow"),
        (json!({"overflow": "support"}), "overflow"),
        (json!({"colour": "red"}), "colour"),
    ];
    for (body, field) in cases {
        let a = app.patch(&path, &app.admin, &body).await;
        assert!(a.status.is_client_error(), "{body}: {}", a.text);
        assert_eq!(a.json["field"], field, "{body}: {}", a.text);
    }
    assert_eq!(teams_by_slug(&app).await, teams, "nothing changed");
    let a = app
        .patch(
            &path,
            &app.supervisor,
            &json!({"strategy": "round_robin", "capacity": null, "overflow": null}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(
        (
            &a.json["strategy"],
            &a.json["capacity"],
            &a.json["overflow"]
        ),
        (&json!("round_robin"), &Value::Null, &Value::Null)
    );
    app.patch(&path, &app.agent, &json!({"capacity": 3}))
        .await
        .assert_problem(403, "forbidden");

    let ann = user(&app, "ann").await;
    app.put(
        &format!("/api/v1/users/{ann}/availability"),
        &app.admin,
        &json!({"availability": "busy"}),
    )
    .await
    .assert_problem(400, "invalid_field");
    app.put(
        &format!("/api/v1/teams/{support}/members/{ann}/skills"),
        &app.admin,
        &json!({"skills": ["x"]}),
    )
    .await
    .assert_problem(404, "not_found");
    app.put(
        "/api/v1/me/availability",
        &app.agent,
        &json!({"availability": "online"}),
    )
    .await
    .assert_problem(403, "forbidden");
}

/// Where no rule sets a purpose, routing keeps the understood one: the simulation does the
/// same, so the playbook in force replayed on its own cases routes none differently.
#[tokio::test]
async fn simulating_the_active_playbook_changes_nothing() {
    let app = spawn_app().await;
    let playbook = "[[team]]\nid = \"desk\"\nname = \"Desk\"\n\n\
                    [[team]]\nid = \"care\"\nname = \"Care\"\n\n\
                    [[rule]]\nname = \"Angry to care\"\nwhen.purpose_any = [\"tier1\", \"support\"]\n\
                    when.sentiment_any = [\"negative\"]\nthen.team = \"care\"\nthen.stop = true\n\n\
                    [[rule]]\nname = \"All to the desk\"\nthen.team = \"desk\"\n";
    assert_eq!(apply(&app, playbook).await.status, StatusCode::CREATED);
    let ch = app.create_channel(NOWHERE).await;
    let texts = [
        ("m-1", "How much does the pro plan cost? pricing please"),
        (
            "m-2",
            "My parcel never arrived and the tracking number does not work",
        ),
        ("m-3", "hello"),
    ];
    for (id, text) in texts {
        app.deliver(&ch, &post(id, id, text, false)).await;
        app.wait_for_message(id).await;
    }
    let purposes: Vec<String> = app
        .all_cases()
        .await
        .iter()
        .map(|c| c["purpose"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        purposes.iter().any(|p| p != "tier1"),
        "some case keeps an understood purpose: {purposes:?}"
    );
    // An agent says "hello" is a sales lead, and negative: as people said, it is not the
    // angry Tier 1 case "Angry to care" would take (the sentiment alone, without the purpose,
    // made it one).
    let hello = app.wait_for_message("m-3").await;
    let a = app
        .patch(
            &format!("/api/v1/cases/{}", hello["id"].as_str().unwrap()),
            &app.agent,
            &json!({"purpose": "sales"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let m = hello["messages"][0]["id"].as_str().unwrap().to_owned();
    let a = app
        .post(
            &format!("/api/v1/messages/{m}/sentiment"),
            &app.agent,
            &json!({"label": "negative"}),
        )
        .await;
    assert!(a.status.is_success(), "{}", a.text);
    let a = app
        .post("/api/v1/playbook/simulate", &app.admin, &json!({}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["cases"], 3, "{}", a.text);
    assert_eq!(a.json["routed_differently"], 0, "{}", a.text);
    for v in a.json["purposes"].as_array().unwrap() {
        assert_eq!(v["simulated"], v["actual"], "{}", a.text);
    }
}

#[tokio::test]
async fn simulation_reports_matches_volumes_and_differences() {
    let app = spawn_app().await;
    assert_eq!(apply(&app, EXAMPLE).await.status, StatusCode::CREATED);
    let ch = app.create_channel(NOWHERE).await;
    let texts = [
        ("m-1", "We are planning a boycott of your brand", true),
        (
            "m-2",
            "How much does the pro plan cost? pricing please",
            false,
        ),
        ("m-3", "My invoice is wrong", false),
        ("m-4", "Refund my invoice now", false),
    ];
    for (id, text, public) in texts {
        app.deliver(&ch, &post(id, id, text, public)).await;
        app.wait_for_message(id).await;
    }
    let candidate = format!(
        "{}\n[[team]]\nid = \"billing\"\nname = \"Billing\"\n\n[[rule]]\nname = \"Invoices\"\nwhen.text_any = [\"invoice\"]\nthen.purpose = \"support\"\nthen.team = \"billing\"\n",
        EXAMPLE.replace(
            "[[rule]]\nname = \"Everything else",
            "[[rule]]\nname = \"Price words\"\nwhen.text_any = [\"pricing\", \"cost\"]\nthen.purpose = \"sales\"\nthen.team = \"sales\"\n\n[[rule]]\nname = \"Everything else",
        )
    );
    let a = app
        .post(
            "/api/v1/playbook/simulate",
            &app.admin,
            &json!({"source": candidate, "since": "1d"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let r = &a.json;
    assert_eq!(r["cases"], 4);
    let matched: Vec<(String, i64)> = r["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["rule"].as_str().unwrap().to_owned(),
                x["matched"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        matched,
        [
            ("Outage or legal threat in public goes to PR".to_owned(), 1),
            ("Pricing questions go to Sales".to_owned(), 0),
            ("Price words".to_owned(), 1),
            ("Everything else starts at the front desk".to_owned(), 4),
            ("Invoices".to_owned(), 2),
        ]
    );
    // The catch-all sets purpose and team first, so "Invoices" fires but changes nothing:
    // only the pricing question routes differently.
    assert_eq!(r["routed_differently"], 1, "{r}");
    let ex = &r["examples"][0];
    assert_eq!(
        ex["actual"],
        json!({"purpose": "tier1", "team": "front-desk"})
    );
    assert_eq!(
        ex["simulated"],
        json!({"purpose": "sales", "team": "sales"})
    );
    assert!(ex["text"].as_str().unwrap().contains("pricing"));
    let teams: Vec<(Value, i64, i64)> = r["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].clone(),
                v["simulated"].as_i64().unwrap(),
                v["actual"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(teams.contains(&(json!("sales"), 1, 0)), "{teams:?}");
    assert!(teams.contains(&(json!("front-desk"), 2, 3)), "{teams:?}");

    // Nothing was installed; the candidate's new team was not created.
    assert_eq!(
        app.get("/api/v1/playbook", &app.admin).await.json["version"],
        1
    );
    assert!(teams_by_slug(&app).await.get("billing").is_none());

    // A window with no cases, and bad input.
    let a = app
        .post(
            "/api/v1/playbook/simulate",
            &app.admin,
            &json!({"since": "2000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(
        a.json["cases"], 4,
        "the active playbook by default: {}",
        a.text
    );
    assert_eq!(a.json["routed_differently"], 0, "{}", a.text);
    app.post(
        "/api/v1/playbook/simulate",
        &app.admin,
        &json!({"since": "last week"}),
    )
    .await
    .assert_problem(400, "invalid_field");
    app.post(
        "/api/v1/playbook/simulate",
        &app.admin,
        &json!({"source": "[[rule]]\nname = 1\n"}),
    )
    .await
    .assert_problem(422, "invalid_playbook");
    app.post("/api/v1/playbook/simulate", &app.agent, &json!({}))
        .await
        .assert_problem(403, "forbidden");
}

#[tokio::test]
async fn a_case_shows_its_sla_targets_from_the_playbook() {
    let app = spawn_app().await;
    let source = r#"[[sla]]
name = "Support"
purpose = "support"
first_response = "15m"
next_response = "1h"
resolution = "1d"

[[team]]
id = "support"
name = "Support"

[[rule]]
name = "All to support"
then.purpose = "support"
then.team = "support"
"#;
    assert_eq!(apply(&app, source).await.status, StatusCode::CREATED);
    let ch = app.create_channel(NOWHERE).await;
    app.deliver(&ch, &post("m-1", "u-1", "help", false)).await;
    let id = app.wait_for_message("m-1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let case = app.case(&id).await;
    let sla = &case["sla"];
    assert_eq!(sla["policy"], "Support", "{case}");
    let first = &sla["targets"][0];
    assert_eq!(first["target"], "first_response");
    assert_eq!(first["status"], "running");
    let created = chrono_micros(case["created_at"].as_str().unwrap());
    assert_eq!(
        chrono_micros(first["due_at"].as_str().unwrap()) - created,
        15 * 60 * 1_000_000
    );
    let reply = app
        .post(
            &format!("/api/v1/cases/{id}/replies"),
            &app.agent,
            &json!({"text": "On it"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let case = app.case(&id).await;
    assert_eq!(
        case["sla"]["targets"][0]["status"], "met",
        "{}",
        case["sla"]
    );

    // No policy for other purposes: no SLA.
    let other = app
        .patch(
            &format!("/api/v1/cases/{id}"),
            &app.admin,
            &json!({"purpose": "sales"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.text);
    assert_eq!(app.case(&id).await["sla"], Value::Null);
}

/// Microseconds since the epoch of an RFC 3339 time the API returned.
fn chrono_micros(s: &str) -> i64 {
    switchboard_core::Timestamp::parse_rfc3339(s)
        .unwrap()
        .as_unix_micros()
}

/// On PostgreSQL a transfer to a named person and an admin's deactivation of that person run
/// at once. The transfer read them as active before the deactivation committed; it must wait
/// for it and refuse, leaving the case where it was.
#[tokio::test]
async fn a_case_is_not_transferred_to_someone_deactivated_meanwhile_on_postgres() {
    let Some(app) =
        spawn_app_pg("a_case_is_not_transferred_to_someone_deactivated_meanwhile").await
    else {
        return;
    };
    let playbook = "[[team]]\nid = \"desk\"\nname = \"Desk\"\nstrategy = \"round_robin\"\n\n\
                    [[rule]]\nname = \"Everything to the desk\"\nthen.team = \"desk\"\n";
    assert_eq!(apply(&app, playbook).await.status, StatusCode::CREATED);
    let bob = user(&app, "bob").await;
    let ch = app.create_channel(NOWHERE).await;
    app.deliver(&ch, &post("m-1", "u-1", "help", false)).await;
    let case = app.wait_for_message("m-1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.case(&case).await["assignee"], Value::Null);

    let admin = HeldDeactivation::start(app.pg_url().expect("postgres"), &bob);
    let path = format!("/api/v1/cases/{case}/transfer");
    let body = json!({"assignee": bob, "reason": "Bob knows this customer"});
    let transfer = app.post(&path, &app.agent, &body);
    let release = async {
        let waited = waits_on_lock(&app, "UPDATE users SET active = active").await;
        // Commit either way, so a failure below is reported instead of hanging.
        admin.commit().await;
        waited
    };
    let (answer, waited) = tokio::join!(transfer, release);
    assert!(waited, "the transfer never waited for Bob's row");
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.text
    );
    assert!(answer.text.contains("no active user"), "{}", answer.text);
    let after = app.case(&case).await;
    assert_eq!(after["assignee"], Value::Null, "{after}");
}

/// On PostgreSQL an ingest lane and an admin's deactivation run at once. The lane chose the
/// agent while they were active; the deactivation commits before the lane gives them the case.
/// The case must not go to someone who can no longer log in: it stays with the team, and the
/// routing record says why.
#[tokio::test]
async fn a_case_is_not_given_to_someone_deactivated_meanwhile_on_postgres() {
    let Some(app) = spawn_app_pg("a_case_is_not_given_to_someone_deactivated_meanwhile").await
    else {
        return;
    };
    let playbook = "[[team]]\nid = \"desk\"\nname = \"Desk\"\nstrategy = \"round_robin\"\n\n\
                    [[rule]]\nname = \"Everything to the desk\"\nthen.team = \"desk\"\n";
    assert_eq!(apply(&app, playbook).await.status, StatusCode::CREATED);
    let desk = teams_by_slug(&app).await["desk"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ann = user(&app, "ann").await;
    join(&app, &desk, &ann, "online").await;
    let ch = app.create_channel(NOWHERE).await;
    // Ann's first case shows the team assigns to her.
    app.deliver(&ch, &post("m-1", "u-1", "help", false)).await;
    let first = app.wait_for_message("m-1").await;
    assert_eq!(
        app.case(first["id"].as_str().unwrap()).await["assignee"],
        json!(ann)
    );

    // An admin's transaction deactivates Ann and holds her row until told to commit. Only
    // once it holds the row: the next message's lane reads her as active (the change is not
    // committed), chooses her, and then waits for her row.
    let admin = HeldDeactivation::start(app.pg_url().expect("postgres"), &ann);
    app.deliver(&ch, &post("m-2", "u-2", "help again", false))
        .await;
    let waiting = waits_on_lock(&app, "UPDATE users SET last_assigned_at").await;
    admin.commit().await;
    assert!(waiting, "the lane never waited for Ann's row");

    let second = app.wait_for_message("m-2").await;
    let case = app.case(second["id"].as_str().unwrap()).await;
    assert_eq!(case["team"], json!(desk), "{case}");
    assert_eq!(case["assignee"], Value::Null, "{case}");
    assert!(
        case["routing"]
            .to_string()
            .contains("deactivated meanwhile"),
        "{}",
        case["routing"]
    );
}

/// An admin's transaction, on a thread of its own, that deactivates a user and holds their row
/// until [`HeldDeactivation::commit`].
struct HeldDeactivation {
    go: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl HeldDeactivation {
    /// Returns once the row is held.
    fn start(url: String, user: &str) -> HeldDeactivation {
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let (held, holding) = std::sync::mpsc::channel::<()>();
        let user = user.to_owned();
        let thread = std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
            let mut tx = c.transaction().expect("begin");
            tx.execute(
                "UPDATE users SET active = false WHERE id = $1::text::uuid",
                &[&user],
            )
            .expect("deactivate");
            held.send(()).expect("held");
            wait.recv().expect("go");
            tx.commit().expect("commit");
        });
        holding.recv().expect("the admin holds the user's row");
        HeldDeactivation { go, thread }
    }

    /// Commits the deactivation and waits until it has.
    async fn commit(self) {
        self.go.send(()).expect("commit");
        tokio::task::spawn_blocking(move || self.thread.join().expect("admin"))
            .await
            .expect("join");
    }
}

/// Whether a statement of the app's database starting with `statement` comes to wait on a
/// lock within 10 s (polled in `pg_stat_activity`).
async fn waits_on_lock(app: &TestApp, statement: &str) -> bool {
    let url = app.pg_url().expect("postgres");
    let pattern = format!("{statement}%");
    tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        for _ in 0..200 {
            let n: i64 = c
                .query_one(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND wait_event_type = 'Lock' AND query LIKE $1",
                    &[&pattern],
                )
                .expect("activity")
                .get(0);
            if n > 0 {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    })
    .await
    .expect("join")
}
