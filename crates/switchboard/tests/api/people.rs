//! An admin changes people (name, role, password, deactivation, which hands their open cases
//! back to their teams) and team membership, and sends a channel's test message.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn login(app: &TestApp, username: &str, password: &str) -> StatusCode {
    app.call(
        Method::POST,
        "/api/v1/login",
        None,
        Some(&json!({"username": username, "password": password})),
    )
    .await
    .status
}

const PASSWORD: &str = "a long enough password";

#[tokio::test]
async fn an_admin_renames_promotes_resets_and_deactivates_people() {
    people_flow(&spawn_app().await).await;
}

#[tokio::test]
async fn an_admin_changes_people_on_postgres() {
    if let Some(app) = spawn_app_pg("an_admin_changes_people_on_postgres").await {
        people_flow(&app).await;
    }
}

async fn people_flow(app: &TestApp) {
    let ch = app.create_channel(NOWHERE).await;
    let ada = app.person("ada", "agent").await;
    let root = app.person("root", "admin").await;
    app.deliver(&ch, ISSUE_BODY).await;
    let case = app.wait_for_message("ext-1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = app
        .patch(
            &format!("/api/v1/cases/{case}"),
            &app.admin,
            &json!({"assignee": ada.id}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let user = format!("/api/v1/users/{}", ada.id);

    // Renamed and promoted; the change shows at once.
    let a = app
        .patch(
            &user,
            &app.admin,
            &json!({"display_name": "Ada L.", "role": "supervisor"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["user"]["display_name"], "Ada L.");
    assert_eq!(a.json["user"]["role"], "supervisor");
    assert_eq!(a.json["unassigned_cases"], json!([]));
    let me = app.as_person(&ada, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.json["role"], "supervisor", "{}", me.text);

    // Bad input changes nothing.
    let before = app.get(&user, &app.admin).await.json;
    for (body, field) in [
        (json!({"role": "boss"}), "role"),
        (json!({"password": "short"}), "password"),
        (json!({"display_name": " "}), "display_name"),
        (json!({"nickname": "x"}), "nickname"),
        (json!({"active": "no"}), "active"),
    ] {
        let p = app.patch(&user, &app.admin, &body).await;
        assert_eq!(
            p.assert_problem(400, "invalid_field")["field"],
            field,
            "{body}"
        );
    }
    app.patch(
        &format!("/api/v1/users/{}", uuid::Uuid::now_v7()),
        &app.admin,
        &json!({"active": false}),
    )
    .await
    .assert_problem(404, "not_found");
    app.patch("/api/v1/users/not-an-id", &app.admin, &json!({}))
        .await
        .assert_problem(404, "not_found");
    app.patch(&user, &app.agent, &json!({"active": false}))
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(app.get(&user, &app.admin).await.json, before);

    // A new password: the old one no longer works, and the sessions have ended.
    let a = app
        .patch(
            &user,
            &app.admin,
            &json!({"password": "another long password"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(!a.text.contains("another long password"));
    assert_eq!(login(app, "ada", PASSWORD).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        login(app, "ada", "another long password").await,
        StatusCode::OK
    );
    let me = app.as_person(&ada, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.text);

    // Deactivated: cannot log in, and the open case goes back to its team's queue; a live
    // stream open with their session ends.
    let cookie = app.login_cookie("ada", "another long password").await;
    let mut stream = reqwest::Client::new()
        .get(app.url("/api/v1/stream"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let a = app
        .patch(&user, &app.admin, &json!({"active": false}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let ended = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the deactivated person's live stream ended");
    assert_eq!(a.json["user"]["active"], false);
    assert_eq!(a.json["unassigned_cases"], json!([case]));
    assert_eq!(app.case(&case).await["assignee"], Value::Null);
    assert_eq!(
        login(app, "ada", "another long password").await,
        StatusCode::UNAUTHORIZED
    );
    let a = app
        .patch(
            &format!("/api/v1/cases/{case}"),
            &app.admin,
            &json!({"assignee": ada.id}),
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a deactivated person takes no cases"
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"user.deactivated".to_owned())
    );
    // And back.
    let a = app.patch(&user, &app.admin, &json!({"active": true})).await;
    assert_eq!(a.json["user"]["active"], true, "{}", a.text);
    assert_eq!(
        login(app, "ada", "another long password").await,
        StatusCode::OK
    );

    // An admin's own password is changed where the current one is asked for.
    let own = app
        .as_person(
            &root,
            Method::PATCH,
            &format!("/api/v1/users/{}", root.id),
            Some(&json!({"password": "a brand new password"})),
        )
        .await;
    assert_eq!(
        own.assert_problem(400, "invalid_field")["field"],
        "password"
    );

    // The last active admin stays one, and nobody deactivates themselves.
    let root_path = format!("/api/v1/users/{}", root.id);
    let p = app
        .patch(&root_path, &app.admin, &json!({"role": "agent"}))
        .await;
    assert!(
        p.assert_problem(422, "rule_violated")["detail"]
            .as_str()
            .unwrap()
            .contains("last active admin"),
        "{}",
        p.text
    );
    let p = app
        .patch(&root_path, &app.admin, &json!({"active": false}))
        .await;
    assert_eq!(p.assert_problem(422, "rule_violated")["field"], "active");
    app.as_person(
        &root,
        Method::PATCH,
        &root_path,
        Some(&json!({"active": false})),
    )
    .await
    .assert_problem(400, "invalid_field");
    // With a second admin, the first may step down.
    let a = app
        .patch(&user, &app.admin, &json!({"role": "admin"}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = app
        .patch(&root_path, &app.admin, &json!({"role": "agent"}))
        .await;
    assert_eq!(a.json["user"]["role"], "agent", "{}", a.text);
}

#[tokio::test]
async fn a_member_is_removed_from_a_team() {
    let app = spawn_app().await;
    let ada = app.person("ada", "agent").await;
    let team = app
        .post("/api/v1/teams", &app.admin, &json!({"name": "Support"}))
        .await;
    assert_eq!(team.status, StatusCode::CREATED, "{}", team.text);
    let team = team.json["id"].as_str().unwrap().to_owned();
    let a = app
        .post(
            &format!("/api/v1/teams/{team}/members"),
            &app.admin,
            &json!({"user_id": ada.id}),
        )
        .await;
    assert!(a.status.is_success(), "{}", a.text);
    let path = format!("/api/v1/teams/{team}/members/{}", ada.id);
    app.call(Method::DELETE, &path, Some(&app.agent), None)
        .await
        .assert_problem(403, "forbidden");
    let a = app
        .call(Method::DELETE, &path, Some(&app.admin), None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["members"], json!([]));
    app.call(Method::DELETE, &path, Some(&app.admin), None)
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn a_test_message_is_filed_like_a_providers_and_its_replies_go_nowhere() {
    let app = spawn_app().await;
    let partner = FakePartner::start(&[], 200).await;
    let ch = app.create_channel(&partner.url).await;
    let test = format!("/api/v1/channels/{}/test", ch.id);

    let a = app
        .post(&test, &app.admin, &json!({"text": "Where is my parcel?"}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json["status"], "filed");
    let case = a.json["case"]["id"].as_str().expect("its case").to_owned();
    let detail = app.case(&case).await;
    assert_eq!(detail["channel_id"], ch.id.as_str());
    assert_eq!(detail["messages"][0]["text"], "Where is my parcel?");
    assert_eq!(detail["messages"][0]["direction"], "inbound");

    // A reply is marked delivered without reaching the provider.
    let r = app
        .post(
            &format!("/api/v1/cases/{case}/replies"),
            &app.agent,
            &json!({"text": "On its way."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json["id"].as_str().unwrap().to_owned();
    wait_for("the test reply delivered", || async {
        let d = app.case(&case).await;
        d["messages"]
            .as_array()?
            .iter()
            .any(|m| m["id"] == id.as_str() && m["delivery_state"] == "delivered")
            .then_some(())
    })
    .await;
    assert!(
        partner.received().is_empty(),
        "nothing went to the provider"
    );

    // On a web chat channel too (its replies normally need an open chat or an address).
    let chat = app
        .post(
            "/api/v1/channels",
            &app.admin,
            &json!({"kind": "webchat", "name": "Chat", "config": {"allowed_origins": ["https://shop.example"]},
                    "credentials": {"widget_secret": "a-test-widget-secret-of-32-chars"}}),
        )
        .await;
    assert_eq!(chat.status, StatusCode::CREATED, "{}", chat.text);
    let a = app
        .post(
            &format!(
                "/api/v1/channels/{}/test",
                chat.json["id"].as_str().unwrap()
            ),
            &app.admin,
            &json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let chat_case = a.json["case"]["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &format!("/api/v1/cases/{chat_case}/replies"),
            &app.agent,
            &json!({"text": "Hello, tester."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // The admin page tells the provider's traffic apart: nothing from it yet.
    let admin = app.person("root", "admin").await;
    let page = app.as_person(&admin, Method::GET, "/admin", None).await;
    // (Both channels have only test messages.)
    assert_eq!(page.text.matches("nothing yet").count(), 2, "{}", page.text);
    app.deliver(&ch, ISSUE_BODY).await;
    app.wait_for_message("ext-1").await;
    let page = app.as_person(&admin, Method::GET, "/admin", None).await;
    assert_eq!(page.text.matches("nothing yet").count(), 1, "{}", page.text);
    assert!(page.text.contains("— processed"), "{}", page.text);

    // Bad input stores nothing.
    let cases = app.all_cases().await.len();
    app.post(&test, &app.admin, &json!({"text": "x".repeat(2001)}))
        .await
        .assert_problem(400, "invalid_field");
    app.post(&test, &app.admin, &json!({"txt": "hi"}))
        .await
        .assert_problem(400, "invalid_field");
    app.post(&test, &app.agent, &json!({}))
        .await
        .assert_problem(403, "forbidden");
    app.post(
        &format!("/api/v1/channels/{}/test", uuid::Uuid::now_v7()),
        &app.admin,
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    let off = app
        .patch(
            &format!("/api/v1/channels/{}", ch.id),
            &app.admin,
            &json!({"active": false}),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text);
    app.post(&test, &app.admin, &json!({}))
        .await
        .assert_problem(400, "invalid_field");
    assert_eq!(app.all_cases().await.len(), cases);
}

#[tokio::test]
async fn the_admin_page_shows_business_hours_and_slas_from_the_playbook() {
    let app = spawn_app().await;
    let admin = app.person("root", "admin").await;
    let page = app.as_person(&admin, Method::GET, "/admin", None).await;
    assert!(page.text.contains("No playbook is active"), "{}", page.text);
    app.apply_playbook(
        r#"
[hours]
timezone = "Europe/Berlin"
mon = "09:00-17:00"
fri = "09:00-12:00, 13:00-16:00"
holidays = ["2026-12-25"]

[[team]]
id = "support"
name = "Support <desk>"
[team.hours]
timezone = "UTC"
sat = "10:00-14:00"

[[sla]]
name = "Support answers"
purpose = "support"
first_response = "45m"
resolution = "2d4h"

[[rule]]
name = "all"
then.team = "support"
"#,
    )
    .await;
    let page = app.as_person(&admin, Method::GET, "/admin", None).await;
    for shown in [
        "Europe/Berlin: Mon 09:00-17:00; Tue closed",
        "Fri 09:00-12:00, 13:00-16:00; Sat closed; Sun closed; closed on 2026-12-25",
        "Support &lt;desk&gt;",
        "UTC: Mon closed",
        "Sat 10:00-14:00",
        "<td>45m</td>",
        "<td>2d4h</td>",
    ] {
        assert!(page.text.contains(shown), "{shown} in {}", page.text);
    }
}
