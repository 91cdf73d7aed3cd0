//! The agent workspace end to end in a real headless Chromium (`tests/browser/workspace.py`):
//! log in; a webhook message appears live in the inbox; open it with the keyboard, reply, see
//! it delivered; ask an outside expert, answer on the expert page, see the case come back; a
//! reviewer approves a held public reply; the supervisor dashboard shows the counts; the
//! playbook editor simulates and refuses a bad playbook; a `<script>` in a message stays text.
//! Screenshots of each screen go to `target/tmp/workspace-screenshots/`. Skipped, with the
//! reason, without Chromium, chromedriver or Selenium (`.ci/run` installs them). Also: the
//! pages' server-side rules (login redirect, role checks, CSRF on forms) without a browser.

use crate::browser::{Lines, available, run_script, shots_dir};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const PLAYBOOK: &str = r#"
[[team]]
id = "front-desk"
name = "Front desk"

[[team]]
id = "pr"
name = "Marketing & PR"

[[team]]
id = "legal"
name = "Legal"

[[approval]]
reviewers = "legal"
team = "pr"
public = true

[[rule]]
name = "Public mentions go to PR"
when.public = true
then.team = "pr"
then.purpose = "marketing_pr"

[[rule]]
name = "Everything else starts at the front desk"
then.team = "front-desk"
then.purpose = "tier1"
"#;

/// The password `TestApp::person` gives everyone.
const PASSWORD: &str = "a long enough password";

async fn join(app: &TestApp, slug: &str, person: &Person) {
    let team = app.team_id(slug).await;
    let a = app
        .post(
            &format!("/api/v1/teams/{team}/members"),
            &app.admin,
            &json!({"user_id": person.id}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
}

#[tokio::test]
async fn an_agent_a_reviewer_and_a_supervisor_work_in_chromium() {
    if let Err(why) = available() {
        eprintln!("skipped: {why}");
        return;
    }
    let app = spawn_app().await;
    app.apply_playbook(PLAYBOOK).await;
    let partner = FakePartner::start(&[], 200).await;
    let channel = app.create_channel(&partner.url).await;
    let ada = app.person("ada", "agent").await;
    let rita = app.person("rita", "reviewer").await;
    let sue = app.person("sue", "supervisor").await;
    app.person("admin", "admin").await;
    join(&app, "front-desk", &ada).await;
    join(&app, "pr", &ada).await;
    join(&app, "legal", &rita).await;
    join(&app, "front-desk", &sue).await;

    let shots = shots_dir("workspace-screenshots");
    let (mut child, rx) = run_script("workspace.py", &app.address, &shots, &[PASSWORD]);
    let mut lines = Lines::new(rx, 90);
    let mut expect = async |marker: &str| lines.expect(marker).await;

    assert_eq!(
        expect("LOGIN_REFUSED").await,
        "LOGIN_REFUSED Unknown username or wrong password."
    );
    assert_eq!(
        expect("HOME").await,
        "HOME /inbox",
        "an agent starts in the inbox"
    );
    expect("INBOX").await;
    app.deliver(
        &channel,
        &message(
            "m-1",
            "thread-1",
            "ann",
            "Hello <script>window.__pwned=1</script> when does the game start?",
        )
        .replace("Customer ann", "Ann Customer"),
    )
    .await;
    let live = expect("LIVE").await;
    assert!(live.ends_with("reloaded=False"), "{live}");
    assert_eq!(expect("ESCAPED").await, "ESCAPED pwned=no shown=True");
    expect("KEYS").await;
    expect("DELIVERED").await;
    // The partner really got the reply.
    let sent = partner.received();
    assert_eq!(sent.len(), 1, "one reply delivered");
    let body: serde_json::Value = serde_json::from_slice(&sent[0].body).expect("json");
    assert_eq!(body["text"], "The game starts at 2 pm. See you there!");
    // A live refresh while the expert form is being filled keeps the form and the focus.
    assert_eq!(
        expect("KEPT").await,
        "KEPT dean@college.example open=True question=Can visitors bring umbrellas?"
    );
    // Ada and Sue are in the front desk, Ada in PR; Legal has only a reviewer.
    assert_eq!(
        expect("TRANSFER_PEOPLE").await,
        "TRANSFER_PEOPLE here=ada,sue pr=ada legal=- back=ada,sue"
    );
    expect("AWAIT_MENTION").await;
    let case = app.wait_for_message("m-1").await["id"]
        .as_str()
        .expect("case id")
        .to_owned();
    let note = app
        .post(
            &format!("/api/v1/cases/{case}/notes"),
            &app.admin,
            &json!({"text": "@ada the dean knows the umbrella rules"}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.text);
    assert_eq!(
        expect("MENTIONED").await,
        "MENTIONED 0->1 same_page=True 1 unread"
    );
    assert_eq!(expect("EXPERT_LINK").await, "EXPERT_LINK True");
    assert_eq!(expect("EXPERT_BACK").await, "EXPERT_BACK True");
    assert_eq!(expect("CORRECTED").await, "CORRECTED True");
    for (kind, label) in [
        ("purpose", "sales"),
        ("intent", "game_times"),
        ("sentiment", "positive"),
    ] {
        let ex = app
            .get(
                &format!("/api/v1/training-examples?kind={kind}"),
                &app.admin,
            )
            .await;
        assert_eq!(ex.json["items"][0]["label"], label, "{}", ex.text);
        assert_eq!(ex.json["items"][0]["created_by"], "ada", "{}", ex.text);
    }

    let mention = json!({"id": "m-2", "conversation": "post-9", "public": true,
        "from": {"id": "bo", "name": "Bo Public"}, "text": "@lakeside great game last night!"});
    app.deliver(&channel, &mention.to_string()).await;
    expect("HELD").await;
    assert_eq!(partner.received().len(), 1, "a held reply is not sent");
    assert_eq!(
        expect("HOME").await,
        "HOME /approvals",
        "a reviewer starts with approvals"
    );
    assert_eq!(expect("APPROVAL_CONTEXT").await, "APPROVAL_CONTEXT True");
    assert_eq!(expect("EMPTIED_NOT_SENT").await, "EMPTIED_NOT_SENT True");
    assert_eq!(partner.received().len(), 1, "an emptied reply is not sent");
    expect("APPROVED").await;
    assert_eq!(
        expect("SUPERVISOR_AS_REVIEWER").await,
        "SUPERVISOR_AS_REVIEWER True"
    );
    wait_for("the approved reply at the partner", || async {
        (partner.received().len() == 2).then_some(())
    })
    .await;

    assert_eq!(expect("HOME").await, "HOME /supervisor");
    let dash = expect("DASH").await;
    let cases = app.all_cases().await;
    let active = cases
        .iter()
        .filter(|c| !["resolved", "closed"].contains(&c["status"].as_str().unwrap_or("")))
        .count();
    let unassigned = cases
        .iter()
        .filter(|c| {
            !["resolved", "closed"].contains(&c["status"].as_str().unwrap_or(""))
                && c["assignee"].is_null()
        })
        .count();
    // Today's point on the "Cases opened" chart is the KPI report's figure for today.
    let today = app
        .get(
            "/api/v1/reports/kpis?group_by=none&bucket=day&from=2000-01-01&to=2100-01-01",
            &app.admin,
        )
        .await;
    let rows = today.json["rows"].as_array().expect("rows");
    let opened = rows.last().expect("a day")["cases_opened"]
        .as_u64()
        .expect("n");
    assert_eq!(
        dash,
        format!(
            "DASH active={active} unassigned={unassigned} charts=7 lines=True fill=none days=14 opened_today={opened}"
        ),
        "the dashboard's counts are the store's"
    );
    assert_eq!(expect("TEST_MESSAGE").await, "TEST_MESSAGE True True True");
    assert_eq!(expect("CONNECTED").await, "CONNECTED True");
    let simulated = expect("SIMULATED").await;
    // Three cases so far; the one whose purpose a person corrected would be routed anew.
    assert!(
        simulated.starts_with("SIMULATED Replayed 3 cases created from ")
            && simulated.ends_with(
                ": 1 would be routed differently, 0 match no rule. tables=4 \
                 teams=Front desk,Marketing & PR linked=True named=True"
            ),
        "{simulated}"
    );
    assert_eq!(
        expect("CHECKED").await,
        "CHECKED The playbook is valid: 3 teams, 2 rules. Simulate it to see what it would do, then publish."
    );
    let refused = expect("CHECK_REFUSED").await;
    assert!(
        refused.starts_with(
            "CHECK_REFUSED the playbook has 1 problem(s); the active playbook is unchanged: \
             Line 2, column 8: name: must be text in quotes, not the number 1"
        ) && refused.ends_with("| Line 2 of 3, column 8"),
        "{refused}"
    );
    assert_eq!(expect("UNSAVED_MARKED").await, "UNSAVED_MARKED True");
    assert_eq!(expect("KB_EDITED").await, "KB_EDITED made=201 Umbrellas v2");
    let write = expect("WRITE_ANSWER").await;
    assert!(
        write.starts_with("WRITE_ANSWER open=True ") && write.contains("abre la biblioteca"),
        "{write}"
    );
    assert_eq!(
        expect("KB_ADDED").await,
        "KB_ADDED Parking INTERNAL Spanish (es) v1"
    );
    assert_eq!(expect("KB_LANGUAGE").await, "KB_LANGUAGE es");
    expect("KB_ARCHIVED").await;
    // The edit kept what the page does not show, and read the questions a line each.
    let kb = app.get("/api/v1/kb/articles", &app.admin).await;
    let items = kb.json["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{}", kb.text);
    let umbrellas = &items[0];
    assert_eq!(
        umbrellas["body"],
        "Small umbrellas are fine; no golf umbrellas."
    );
    assert_eq!(
        umbrellas["questions"],
        json!(["Can I bring an umbrella?", "May I take a brolly in?"])
    );
    assert_eq!(umbrellas["intents"], json!(["game_times"]));
    assert_eq!(umbrellas["valid_until"], "2099-01-01T00:00:00Z");
    assert_eq!(umbrellas["public"], true);
    let archived = app
        .get("/api/v1/kb/articles?archived=true", &app.admin)
        .await;
    assert!(
        archived.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["title"] == "Parking"
                && a["public"] == false
                && a["archived_at"].is_string()),
        "{}",
        archived.text
    );
    // At phone width no page scrolls sideways (wide tables scroll inside their own box).
    assert_eq!(expect("PHONE").await, "PHONE wider=[]");
    // Files sent from the pages: a knowledge import with a wrong row names it and adds
    // nothing; the right one adds both entries.
    let refused = expect("KB_IMPORT_REFUSED").await;
    assert!(
        refused.contains("nothing was imported") && refused.contains("Line 3 (title)"),
        "{refused}"
    );
    assert_eq!(
        expect("KB_IMPORTED").await,
        "KB_IMPORTED Imported 1 article and 1 canned response. Show them listed=2"
    );
    assert_eq!(
        expect("KB_IMPORTED_AGAIN").await,
        "KB_IMPORTED_AGAIN Nothing new: all 2 entries are here already, word for word."
    );
    let canned = app.get("/api/v1/kb/canned", &app.admin).await;
    assert!(
        canned.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "Lockers" && c["text"] == "Our lockers are by the main gate."),
        "{}",
        canned.text
    );
    let refused = expect("TRAIN_REFUSED").await;
    assert!(refused.contains("seats"), "{refused}");
    assert_eq!(
        expect("TRAIN_COLUMN").await,
        "TRAIN_COLUMN marked=true focused=label_column"
    );
    let trained = expect("TRAINED").await;
    assert!(
        trained.starts_with("TRAINED Trained version ")
            && trained.contains("with 3 labels from 12 examples")
            && trained.ends_with("-> version 1"),
        "{trained}"
    );
    // The model trained on the page is the one in force: it reads a question it never saw.
    let r = app
        .post(
            "/api/v1/analyze",
            &app.admin,
            &json!({"text": "is there parking near the gates"}),
        )
        .await;
    assert_eq!(r.json["intent"]["label"], "parking", "{}", r.text);
    let tsv = expect("TRAINED_TSV").await;
    assert!(
        tsv.starts_with("TRAINED_TSV Trained version 2 with 3 labels from 13 examples"),
        "{tsv}"
    );
    expect("DONE").await;
    let status = child.wait().expect("wait");
    assert!(
        status.success(),
        "the browser script failed (its output is above)"
    );
    for shot in [
        "01-login",
        "02-inbox",
        "03-case",
        "05-expert-page",
        "07-approvals",
        "08-supervisor",
        "10-playbook",
        "12-inbox-phone",
    ] {
        assert!(
            std::path::Path::new(&format!("{shots}/{shot}.png")).exists(),
            "{shot}"
        );
    }
}

/// A page without a session goes to the login page, keeping where it was going.
#[tokio::test]
async fn pages_need_a_session_and_the_right_role() {
    let app = spawn_app().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = http
        .get(app.url("/inbox?queue=active"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/login?next=%2Finbox%3Fqueue%3Dactive"
    );
    // An address no page answers: a browser gets a page with a way back, a program JSON.
    let browse = |path: &str, accept: &str| {
        http.get(app.url(path))
            .header("Accept", accept.to_owned())
            .send()
    };
    let r = browse("/admin/nope", "text/html,application/xhtml+xml")
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let html = r.text().await.unwrap();
    assert!(html.contains("There is no page at this address") && html.contains("href=\"/\""));
    let r = browse("/admin/nope", "application/json")
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "not_found");
    let r = browse("/api/v1/nope", "text/html").await.expect("get");
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "not_found");
    let r = browse("/logout", "text/html").await.expect("get");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.text().await.unwrap().contains("use its button or link"));
    let agent = app.person("ann", "agent").await;
    let page = |path: &str, cookie: String| {
        let http = http.clone();
        let url = app.url(path);
        async move {
            let r = http
                .get(url)
                .header("Cookie", cookie)
                .send()
                .await
                .expect("get");
            let status = r.status();
            let csp = r
                .headers()
                .get("content-security-policy")
                .map(|v| v.to_str().unwrap_or("").to_owned());
            (status, csp, r.text().await.unwrap_or_default())
        }
    };
    let (status, csp, html) = page("/inbox", agent.cookie.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(csp.unwrap_or_default().contains("script-src 'self'"));
    assert!(
        html.contains(&csrf_of(&agent.cookie)),
        "the page carries the CSRF token"
    );
    for path in [
        "/supervisor",
        "/admin",
        "/admin/playbook",
        "/admin/models",
        "/approvals",
        "/reports",
    ] {
        let (status, _, _) = page(path, agent.cookie.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path} is not for agents");
    }
    let (status, _, _) = page("/inbox?queue=nonsense", agent.cookie.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = page("/cases/not-an-id", agent.cookie.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Reports: a supervisor sees the KPI table for a case written today, and the CSV link;
    // a bad parameter is shown on the page as a 400, with nothing computed.
    let partner = FakePartner::start(&[], 200).await;
    let ch = app.create_channel(&partner.url).await;
    app.deliver(&ch, &message("r-1", "r", "r", "hello <b>there</b>"))
        .await;
    app.wait_for_message("r-1").await;
    // The case page offers canned responses with their placeholders filled for this case.
    let r = app
        .post(
            "/api/v1/kb/canned",
            &app.admin,
            &json!({"name": "Greeting", "text": "Hello {{contact.name}}, how can we help?"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // One in Spanish is not offered on a case in English.
    let r = app
        .post(
            "/api/v1/kb/canned",
            &app.admin,
            &json!({"name": "Saludo", "text": "Hola {{contact.name}}, ¿en qué podemos ayudar?", "language": "es"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let case = app.wait_for_message("r-1").await;
    assert_eq!(
        case["messages"][0]["understanding"]["language"], "en",
        "{case}"
    );
    let path = format!("/cases/{}", case["id"].as_str().expect("id"));
    let (status, _, html) = page(&path, agent.cookie.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Hello Customer r, how can we help?"),
        "{html}"
    );
    assert!(!html.contains("{{contact.name}}"), "{html}");
    assert!(!html.contains("Hola Customer r"), "{html}");
    // A card or national id number in a customer's message shows only its last four digits,
    // on the case and in the inbox; an e-mail address is marked for what it is.
    app.deliver(
        &ch,
        &message(
            "r-2",
            "r2",
            "r2",
            "My card 4111 1111 1111 1111 was charged twice, mail ann@example.com, SSN 123-45-6789",
        ),
    )
    .await;
    let carded = app.wait_for_message("r-2").await;
    let (_, _, card_page) = page(
        &format!("/cases/{}", carded["id"].as_str().expect("id")),
        agent.cookie.clone(),
    )
    .await;
    assert!(!card_page.contains("4111 1111 1111 1111"), "{card_page}");
    assert!(card_page.contains("•••• 1111</mark>"), "{card_page}");
    assert!(card_page.contains(">ann@example.com</mark>"), "{card_page}");
    assert!(!card_page.contains("123-45-6789"), "{card_page}");
    assert!(
        card_page.contains(
            "title=\"US social security number: hidden but its last four digits or letters\">•••• 6789</mark>"
        ),
        "{card_page}"
    );
    let (_, _, inbox) = page("/inbox?queue=active", agent.cookie.clone()).await;
    assert!(inbox.contains("My card •••• 1111 was charged"), "{inbox}");
    assert!(!inbox.contains("4111 1111"), "{inbox}");
    assert!(!inbox.contains("123-45-6789"), "{inbox}");
    assert!(inbox.contains("SSN •••• 6789"), "{inbox}");
    // What was understood, why, and the forms that correct it.
    assert!(html.contains("id=\"understanding\""), "{html}");
    assert!(html.contains("The model said "), "{html}");
    assert!(html.contains("id=\"purpose-form\""), "{html}");
    assert!(
        html.contains(&format!(
            "data-api=\"/api/v1/messages/{}/intent\"",
            app.case(case["id"].as_str().expect("id")).await["messages"][0]["id"]
                .as_str()
                .expect("message id")
        )),
        "{html}"
    );
    // An agent's reply can be saved to the knowledge base from the page; the customer's
    // message cannot.
    assert!(!html.contains("/promote"), "{html}");
    let reply = app
        .as_person(
            &agent,
            reqwest::Method::POST,
            &format!("/api/v1{path}/replies"),
            Some(&json!({"text": "The library opens at 8."})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let (_, _, html) = page(&path, agent.cookie.clone()).await;
    let promote = format!(
        "/api/v1/messages/{}/promote",
        reply.json["id"].as_str().expect("id")
    );
    assert!(html.contains(&promote), "{html}");
    let boss = app.person("sue", "supervisor").await;
    let (status, _, html) = page("/reports?group_by=none", boss.cookie.clone()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"kpis\""), "{html}");
    assert!(html.contains("format=csv"), "{html}");
    assert!(html.contains("<th scope=\"row\">All cases</th>"), "{html}");
    // Per day, the main KPIs are drawn too, a point for every day of the range, empty or not.
    let (status, _, html) = page(
        "/reports?group_by=none&bucket=day&from=2026-01-01&to=2026-01-10",
        boss.cookie.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Nothing in this range."), "{html}");
    let (status, _, html) = page("/reports?group_by=purpose&bucket=day", boss.cookie.clone()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        html.matches("<figure class=\"chart\">").count(),
        5,
        "{html}"
    );
    assert!(
        html.contains(
            "<figcaption>Net sentiment (share of messages positive minus negative)</figcaption>"
        ),
        "{html}"
    );
    // The net sentiment's legend says how many messages each line rests on.
    let sentiment_chart = html
        .split("<figure class=\"chart\">")
        .find(|f| f.contains("<figcaption>Net sentiment"))
        .and_then(|f| f.split("</figure>").next())
        .expect("the sentiment chart");
    assert!(
        sentiment_chart.contains("Tier 1 (") && sentiment_chart.contains(" messages)"),
        "{sentiment_chart}"
    );
    // Purposes by the workspace's names, in the table and the charts' legends.
    assert!(
        html.contains("<th scope=\"row\">Tier 1</th>") && !html.contains(">tier1<"),
        "{html}"
    );
    let first_chart = html
        .split("<figure class=\"chart\">")
        .nth(1)
        .and_then(|f| f.split("</figure>").next())
        .expect("a chart");
    assert!(first_chart.contains("<figcaption>Cases opened</figcaption>"));
    // The default range is the last 31 days: a row for each in the chart's table.
    assert_eq!(
        first_chart.matches("<th scope=\"row\">").count(),
        31,
        "{first_chart}"
    );
    let (status, _, html) = page(
        "/reports?group_by=none&bucket=hour&from=2000-01-01&to=2026-12-31",
        boss.cookie.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Too many periods to draw"), "{html}");
    assert!(html.contains("id=\"kpis\""), "{html}");
    // The supervisor's page draws the last 14 days after it loads (`?part=days`); without
    // script, a link shows the same on Reports.
    let (status, _, html) = page("/supervisor", boss.cookie.clone()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("data-load=\"/supervisor?part=days\""),
        "{html}"
    );
    assert!(
        html.contains("/reports?group_by=none&amp;bucket=day&amp;from="),
        "{html}"
    );
    let (status, _, html) = page("/supervisor?part=days", boss.cookie.clone()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.starts_with("<div id=\"dash-days\">"), "{html}");
    assert_eq!(
        html.matches("<figure class=\"chart\">").count(),
        5,
        "{html}"
    );
    let (status, _, _) = page("/supervisor?part=days", agent.cookie.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, html) = page("/reports?tz=Mars%2FOlympus", boss.cookie.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("tz: &quot;Mars/Olympus&quot; is not"),
        "{html}"
    );
    assert!(!html.contains("tz: tz:"), "the field is named once: {html}");
    assert!(!html.contains("id=\"kpis\""), "{html}");

    // Logging out needs the page's CSRF token; a forged form changes nothing.
    let forged = http
        .post(app.url("/logout"))
        .header("Cookie", &agent.cookie)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let (status, _, _) = page("/inbox", agent.cookie.clone()).await;
    assert_eq!(status, StatusCode::OK, "still logged in");
    let out = http
        .post(app.url("/logout"))
        .header("Cookie", &agent.cookie)
        .form(&[("csrf", csrf_of(&agent.cookie))])
        .send()
        .await
        .expect("post");
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let r = http
        .get(app.url("/inbox"))
        .header("Cookie", &agent.cookie)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the session ended");

    // A login form from another site (no matching sb_login cookie) is refused.
    let r = http
        .post(app.url("/login"))
        .form(&[
            ("username", "ann"),
            ("password", PASSWORD),
            ("token", "sbl_x"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.headers()
            .get("set-cookie")
            .is_some_and(|c| c.to_str().unwrap_or("").starts_with("sb_login="))
    );
}

/// The inbox lists 50 cases a page, newest first; "Older cases" goes on from the last one
/// and keeps the queue, filters and search.
#[tokio::test]
async fn the_inbox_pages_through_a_long_queue() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    for i in 0..57 {
        let text = if i % 2 == 0 { "parcel late" } else { "hello" };
        app.deliver(
            &ch,
            &message(
                &format!("p-{i}"),
                &format!("t-{i}"),
                &format!("u-{i}"),
                text,
            ),
        )
        .await;
    }
    app.wait_for_inbound(57).await;
    let agent = app.person("ann", "agent").await;
    let get = async |path: &str| {
        app.as_person(&agent, reqwest::Method::GET, path, None)
            .await
    };
    let rows = |html: &str| html.matches("<li class=\"row").count();
    let next = |html: &str| {
        let at = html.find("rel=\"next\"")?;
        let start = html[..at].rfind("href=\"")? + 6;
        let end = start + html[start..].find('"')?;
        Some(html[start..end].replace("&amp;", "&"))
    };
    let first = get("/inbox?queue=active").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(rows(&first.text), 50);
    let older = next(&first.text).expect("a link to older cases");
    assert!(older.starts_with("/inbox?queue=active&before="), "{older}");
    let second = get(&older).await;
    assert_eq!(rows(&second.text), 7);
    assert!(next(&second.text).is_none(), "the last page");
    assert!(second.text.contains("← Newest"));
    // Every case once across the pages.
    let ids = |html: &str| -> Vec<String> {
        html.split("data-case=\"")
            .skip(1)
            .map(|s| s[..36].to_owned())
            .collect()
    };
    let mut all = ids(&first.text);
    all.extend(ids(&second.text));
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!((n, all.len()), (57, 57));

    // A search pages the same way and keeps its words.
    let found = get("/inbox?queue=active&q=parcel").await;
    assert_eq!(rows(&found.text), 29);
    assert!(next(&found.text).is_none());
    assert!(!found.text.contains("search-wider"));
    // Nothing in one's own queue: the same search in the wider ones is a click away.
    let mine = get("/inbox?queue=mine&q=parcel").await;
    assert_eq!(rows(&mine.text), 0);
    assert!(mine.text.contains("No case in this queue matches"));
    assert!(
        mine.text
            .contains("href=\"/inbox?queue=active&amp;q=parcel\">all active cases"),
        "{}",
        mine.text
    );
    let bad = get("/inbox?queue=active&before=nonsense").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text.contains("That page does not exist"));
}

/// A customer with no name is called the same on the case page as in the inbox: by their id
/// on the channel, in the header and on their messages.
#[tokio::test]
async fn a_nameless_customer_is_named_alike_everywhere() {
    let app = spawn_app().await;
    let ch = app.create_channel("http://127.0.0.1:9/unused").await;
    let body = json!({"id": "n-1", "conversation": "c-n1", "from": {"id": "PSID-317"},
        "text": "where is my order"});
    app.deliver(&ch, &body.to_string()).await;
    let case = app.wait_for_message("n-1").await;
    let ada = app.person("ada", "agent").await;
    let get = |path: String| {
        let (app, cookie) = (&app, ada.cookie.clone());
        async move {
            app.http
                .get(app.url(&path))
                .header("Cookie", cookie)
                .send()
                .await
                .expect("get")
                .text()
                .await
                .expect("body")
        }
    };
    let inbox = get("/inbox?queue=active".into()).await;
    assert!(inbox.contains("<strong>PSID-317</strong>"), "{inbox}");
    let page = get(format!("/cases/{}", case["id"].as_str().unwrap())).await;
    assert!(!page.contains("Unknown"), "{page}");
    assert!(page.contains("Case · PSID-317"), "{page}");
    let h1 = &page[page.find("<h1").unwrap()..];
    assert!(h1[..h1.find("</h1>").unwrap()].contains("PSID-317"), "{h1}");
    let timeline = &page[page.find("id=\"timeline\"").unwrap()..];
    assert!(timeline.contains("PSID-317"), "{timeline}");
}

/// The admin page says which teams no playbook rule sends cases to (a team added there is
/// not routed to until the playbook names it).
#[tokio::test]
async fn the_admin_page_names_teams_no_rule_routes_to() {
    let app = spawn_app().await;
    app.apply_playbook(
        r#"[[team]]
id = "support"
name = "Support"

[[team]]
id = "backup"
name = "Backup"

[[rule]]
name = "Everything"
then.team = "support"
"#,
    )
    .await;
    let boss = app.person("adm", "admin").await;
    let html = app
        .as_person(&boss, reqwest::Method::GET, "/admin", None)
        .await
        .text;
    let row = |name: &str| {
        let at = html
            .find(&format!("<th scope=\"row\">{name}"))
            .unwrap_or_else(|| panic!("a row for {name}: {html}"));
        html[at..at + html[at..].find("</tr>").unwrap()].to_owned()
    };
    assert!(
        !row("Support").contains("No playbook rule"),
        "{}",
        row("Support")
    );
    assert!(
        row("Backup").contains("No playbook rule sends cases here yet"),
        "{}",
        row("Backup")
    );
}

/// The knowledge page: agents get forms to add, edit and archive entries, and an edit form
/// carries back the fields it does not show (a PUT replaces the whole document); a reviewer,
/// who may not write the knowledge base, reads it without forms.
#[tokio::test]
async fn the_knowledge_page_offers_editing_to_those_who_may_write() {
    let app = spawn_app().await;
    app.apply_playbook(PLAYBOOK).await;
    let partner = FakePartner::start(&[], 200).await;
    let channel = app.create_channel(&partner.url).await;
    // A Tier 1 question no article answers: a knowledge gap, with a way to write the answer.
    // Asked twice, once with the college's handle first: one question.
    app.deliver(
        &channel,
        &message("g-1", "t-1", "bo", "Is there parking near the stadium?"),
    )
    .await;
    app.deliver(
        &channel,
        &message(
            "g-2",
            "t-2",
            "cy",
            "@LakesideCollege  Is there parking near the stadium?",
        ),
    )
    .await;
    app.wait_for_message("g-1").await;
    app.wait_for_message("g-2").await;
    let a = app
        .post(
            "/api/v1/kb/articles",
            &app.admin,
            &json!({"title": "Gates", "body": "**Gates** open at 1 pm.", "intents": ["game_times"],
                    "questions": ["When do gates open?"], "tags": ["gates", "times"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let page = async |person: &Person| {
        app.as_person(person, reqwest::Method::GET, "/knowledge", None)
            .await
            .text
    };
    let ann = app.person("ann", "agent").await;
    let agent = page(&ann).await;
    // Read as customers read it, with what it answers beside it.
    assert!(
        agent.contains("<dt>Also asked as</dt><dd>When do gates open?</dd>")
            && agent.contains("<dt>Intents</dt><dd>game_times</dd>")
            && agent.contains("<dt>Tags</dt><dd>gates, times</dd>"),
        "{agent}"
    );
    for part in [
        "New article",
        "New canned response",
        r#"data-method="PUT""#,
        r#"name="intents" data-type="json" value="[&quot;game_times&quot;]""#,
        r#"name="version" data-type="json" value="1""#,
        "When do gates open?</textarea>",
        r#"value="gates, times""#,
        r#"data-method="DELETE""#,
        "Questions without a good answer",
        r#"<strong>Is there parking near the stadium?</strong> <span class="hint">2 asked"#,
        r#"data-write-article="[&quot;Is there parking near the stadium?&quot;]""#,
    ] {
        assert!(agent.contains(part), "{part} in {agent}");
    }
    let reviewer = page(&app.person("rita", "reviewer").await).await;
    assert!(reviewer.contains("Gates open at 1 pm."), "{reviewer}");
    for part in [
        "New article",
        "data-method",
        "Questions without a good answer",
    ] {
        assert!(!reviewer.contains(part), "{part} in {reviewer}");
    }
    // Archived entries are listed apart, each with a way back.
    let gates = a.json["id"].as_str().unwrap().to_owned();
    let r = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/kb/articles/{gates}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let after = page(&ann).await;
    let archived = &after[after
        .find(r#"<details id="archived">"#)
        .expect("archived section")..];
    assert!(
        archived.contains("<strong>Gates</strong>")
            && archived.contains(&format!(
                r#"data-api="/api/v1/kb/articles/{gates}/restore""#
            )),
        "{archived}"
    );
}
