//! One person on two channels: the same phone number on SMS and WhatsApp suggests merging the
//! two contact records; an agent merges them (or says they are two people) through the API.

use crate::helpers::*;
use crate::social::{connect, now, post_meta, post_twilio, wa_message};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The contact of the case that holds the inbound message with this external id.
async fn contact_of_message(app: &TestApp, external_id: &str) -> String {
    let case = app.wait_for_message(external_id).await;
    case["contact_id"].as_str().expect("contact id").to_owned()
}

fn ids(items: &Value, path: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = items["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            let mut v = i;
            for p in path {
                v = &v[*p];
            }
            v.as_str().expect("id").to_owned()
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn the_same_number_on_sms_and_whatsapp_is_suggested_merged_and_can_be_told_apart() {
    let app = spawn_app().await;
    let sms = connect(
        &app,
        "twilio",
        json!({"account_sid": "AC0123456789abcdef0123456789abcdef", "from": "+15550001111", "api_base": "http://127.0.0.1:9"}),
        json!({"auth_token": "twilio-auth-token"}),
    )
    .await;
    let wa = connect(
        &app,
        "whatsapp",
        json!({"phone_number_id": "PN1", "api_base": "http://127.0.0.1:9"}),
        json!({"app_secret": "wa-app-secret", "verify_token": "wa-verify", "access_token": "wa-access-token"}),
    )
    .await;
    let sms_from = |sid: &str, from: &str| {
        vec![
            ("MessageSid", sid.to_owned()),
            (
                "AccountSid",
                "AC0123456789abcdef0123456789abcdef".to_owned(),
            ),
            ("From", from.to_owned()),
            ("To", "+15550001111".to_owned()),
            ("Body", "Is my order on its way?".to_owned()),
        ]
    };
    for (sid, from) in [("SM1", "+4915112345678"), ("SM2", "+4915100000000")] {
        let pairs = sms_from(sid, from);
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let a = post_twilio(&app, &sms, "twilio-auth-token", &pairs).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    }
    let a = post_meta(
        &app,
        "whatsapp",
        &wa,
        "wa-app-secret",
        &wa_message(
            "wamid.IN1",
            "4915112345678",
            now().as_unix_secs(),
            json!({"type": "text", "text": {"body": "Hello again, on WhatsApp"}}),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let on_sms = contact_of_message(&app, "SM1").await;
    let stranger = contact_of_message(&app, "SM2").await;
    let on_wa = contact_of_message(&app, "wamid.IN1").await;
    assert_ne!(on_sms, on_wa, "two channels, two records at first");

    // The number is a key on both; each is the other's suggested duplicate.
    let c = app
        .get(&format!("/api/v1/contacts/{on_wa}"), &app.admin)
        .await;
    assert_eq!(
        c.json["keys"],
        json!([{"kind": "phone", "value": "+4915112345678", "source": "identity"}])
    );
    assert_eq!(c.json["identities"][0]["name"], "Ann Lee");
    let d = app
        .get(&format!("/api/v1/contacts/{on_sms}/duplicates"), &app.admin)
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    assert_eq!(ids(&d.json, &["contact", "id"]), vec![on_wa.clone()]);
    assert_eq!(
        d.json["items"][0]["shared"],
        json!([{"kind": "phone", "value": "+4915112345678"}])
    );
    let all = app.get("/api/v1/contacts/duplicates", &app.admin).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    let mut pair = vec![
        all.json["items"][0]["a"]["id"]
            .as_str()
            .expect("a")
            .to_owned(),
        all.json["items"][0]["b"]["id"]
            .as_str()
            .expect("b")
            .to_owned(),
    ];
    pair.sort();
    let mut want = vec![on_sms.clone(), on_wa.clone()];
    want.sort();
    assert_eq!(pair, want);
    assert_eq!(all.json["items"].as_array().expect("items").len(), 1);

    // An agent types the stranger's e-mail and a number in; bad ones are refused by field.
    let bad = app
        .patch(
            &format!("/api/v1/contacts/{stranger}"),
            &app.admin,
            &json!({"phones": ["030 1234567"]}),
        )
        .await;
    let p = bad.assert_problem(400, "invalid_field");
    assert_eq!(p["field"], "phones");
    assert!(bad.text.contains("international form"), "{}", bad.text);
    let bad = app
        .patch(
            &format!("/api/v1/contacts/{stranger}"),
            &app.admin,
            &json!({"emails": ["not-an-address"]}),
        )
        .await;
    assert_eq!(bad.assert_problem(400, "invalid_field")["field"], "emails");
    let bad = app
        .patch(
            &format!("/api/v1/contacts/{stranger}"),
            &app.admin,
            &json!({}),
        )
        .await;
    bad.assert_problem(400, "invalid_field");
    let ok = app
        .patch(
            &format!("/api/v1/contacts/{stranger}"),
            &app.admin,
            &json!({"emails": ["Ann@Example.com"]}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let ok = app
        .patch(
            &format!("/api/v1/contacts/{stranger}"),
            &app.admin,
            &json!({"phones": ["+49 151 12345678"]}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let keys: Vec<(String, String)> = ok.json["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            (
                k["value"].as_str().expect("value").to_owned(),
                k["source"].as_str().expect("source").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("+4915100000000".to_owned(), "identity".to_owned()),
            ("ann@example.com".to_owned(), "agent".to_owned()),
            ("+4915112345678".to_owned(), "agent".to_owned()),
        ],
        "setting phones kept the e-mail address entered before"
    );
    let d = app
        .get(&format!("/api/v1/contacts/{on_sms}/duplicates"), &app.admin)
        .await;
    assert_eq!(ids(&d.json, &["contact", "id"]), {
        let mut v = vec![on_wa.clone(), stranger.clone()];
        v.sort();
        v
    });

    // It was a typo: the agent says they are two people.
    for (body, status, code, field) in [
        (json!({"other": "nope"}), 400, "invalid_field", "other"),
        (json!({"other": stranger}), 422, "self_merge", "other"),
        (
            json!({"other": "0190a4d0-0000-7000-8000-000000000000"}),
            422,
            "unknown_contact",
            "other",
        ),
    ] {
        let a = app
            .post(
                &format!("/api/v1/contacts/{stranger}/distinct"),
                &app.admin,
                &body,
            )
            .await;
        let p = a.assert_problem(status, code);
        assert_eq!(p["field"], field, "{body}");
    }
    let a = app
        .post(
            &format!("/api/v1/contacts/{stranger}/distinct"),
            &app.admin,
            &json!({"other": on_sms}),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    let d = app
        .get(&format!("/api/v1/contacts/{on_sms}/duplicates"), &app.admin)
        .await;
    assert_eq!(ids(&d.json, &["contact", "id"]), vec![on_wa.clone()]);

    // Refused merges change nothing.
    let before = app
        .get(&format!("/api/v1/contacts/{on_wa}"), &app.admin)
        .await
        .json;
    for (path, body, status, code) in [
        (
            format!("/api/v1/contacts/{on_wa}/merge"),
            json!({"into": "x"}),
            400,
            "invalid_field",
        ),
        (
            format!("/api/v1/contacts/{on_wa}/merge"),
            json!({}),
            400,
            "invalid_field",
        ),
        (
            format!("/api/v1/contacts/{on_wa}/merge"),
            json!({"into": on_wa}),
            422,
            "self_merge",
        ),
        (
            format!("/api/v1/contacts/{on_wa}/merge"),
            json!({"into": "0190a4d0-0000-7000-8000-000000000000"}),
            422,
            "unknown_contact",
        ),
        // The stranger also has an identity on the SMS channel: a reply there could not tell
        // which number to write to.
        (
            format!("/api/v1/contacts/{stranger}/merge"),
            json!({"into": on_sms}),
            422,
            "identities_clash",
        ),
        (
            "/api/v1/contacts/0190a4d0-0000-7000-8000-000000000000/merge".to_owned(),
            json!({"into": on_sms}),
            404,
            "not_found",
        ),
    ] {
        let a = app.post(&path, &app.admin, &body).await;
        a.assert_problem(status, code);
    }
    assert_eq!(
        app.get(&format!("/api/v1/contacts/{on_wa}"), &app.admin)
            .await
            .json,
        before
    );

    // The merge: the WhatsApp record joins the SMS one.
    let m = app
        .post(
            &format!("/api/v1/contacts/{on_wa}/merge"),
            &app.admin,
            &json!({"into": on_sms}),
        )
        .await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.text);
    assert_eq!(m.json["id"], on_sms);
    let kinds: Vec<&str> = m.json["identities"]
        .as_array()
        .expect("identities")
        .iter()
        .map(|i| i["channel_kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["twilio", "whatsapp"]);
    let gone = app
        .get(&format!("/api/v1/contacts/{on_wa}"), &app.admin)
        .await;
    assert_eq!(gone.json["merged_into"], on_sms);
    assert_eq!(gone.json["identities"], json!([]));
    let timeline = app
        .get(&format!("/api/v1/contacts/{on_sms}/timeline"), &app.admin)
        .await;
    assert_eq!(timeline.json["items"].as_array().expect("items").len(), 2);
    let listed = app.get("/api/v1/contacts", &app.admin).await;
    assert!(
        !listed.text.contains(&on_wa),
        "a merged record is not listed"
    );
    let again = app
        .post(
            &format!("/api/v1/contacts/{on_wa}/merge"),
            &app.admin,
            &json!({"into": stranger}),
        )
        .await;
    again.assert_problem(422, "contact_merged");
    assert!(
        app.audit_actions()
            .await
            .contains(&"contact.merged".to_owned()),
        "audited"
    );
    let all = app.get("/api/v1/contacts/duplicates", &app.admin).await;
    assert_eq!(all.json["items"], json!([]));
}
