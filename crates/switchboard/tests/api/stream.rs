//! `GET /api/v1/stream`: Server-Sent Events, live and resumed with `Last-Event-ID` (issue
//! item 6).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
struct Event {
    id: i64,
    kind: String,
    data: Value,
}

/// A live-stream connection, read and parsed line by line.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

enum Resume<'a> {
    No,
    Header(&'a str),
    Query(i64),
}

impl Stream {
    async fn connect(app: &TestApp, resume: Resume<'_>) -> Stream {
        let url = match resume {
            Resume::Query(n) => app.url(&format!("/api/v1/stream?last_event_id={n}")),
            _ => app.url("/api/v1/stream"),
        };
        // No overall timeout: the stream stays open.
        let mut req = reqwest::Client::new().get(url).bearer_auth(&app.admin);
        if let Resume::Header(id) = resume {
            req = req.header("Last-Event-ID", id);
        }
        let response = req.send().await.expect("connect to the stream");
        assert_eq!(response.status(), StatusCode::OK);
        let ct = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Stream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event; panics if none comes within a few seconds.
    async fn next(&mut self) -> Event {
        match tokio::time::timeout(Duration::from_secs(10), self.read_event()).await {
            Ok(e) => e,
            Err(_) => panic!("no event on the stream within 10 s"),
        }
    }

    /// The next event if one comes within `wait`.
    async fn next_within(&mut self, wait: Duration) -> Option<Event> {
        tokio::time::timeout(wait, self.read_event()).await.ok()
    }

    async fn read_event(&mut self) -> Event {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(e) = parse_block(&block) {
                    return e;
                }
                continue;
            }
            let chunk = self
                .response
                .chunk()
                .await
                .expect("read the stream")
                .expect("the stream ended");
            self.buffer
                .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }

    /// Reads events until `n` `message.created` events have arrived; returns all of them.
    async fn until_messages(&mut self, n: usize) -> Vec<Event> {
        let mut out = Vec::new();
        while out
            .iter()
            .filter(|e: &&Event| e.kind == "message.created")
            .count()
            < n
        {
            out.push(self.next().await);
        }
        out
    }
}

/// One SSE block (`id:`, `event:`, `data:` lines); `None` for a comment-only keep-alive.
fn parse_block(block: &str) -> Option<Event> {
    let (mut id, mut kind, mut data) = (None, None, String::new());
    for line in block.lines() {
        if line.starts_with(':') || line.is_empty() {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => id = Some(value.parse::<i64>().expect("a numeric event id")),
            "event" => kind = Some(value.to_owned()),
            "data" => {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value);
            }
            _ => {}
        }
    }
    if id.is_none() && kind.is_none() && data.is_empty() {
        return None;
    }
    let data: Value = serde_json::from_str(&data).expect("event data is JSON");
    let kind = kind.expect("every event has a type");
    // Presence moments (viewing, typing) are not stored, so they carry no id: -1 here.
    let id = match id {
        Some(id) => {
            assert_eq!(data["seq"], id, "the id is the event's seq");
            id
        }
        None => {
            assert!(
                ["viewing", "typing"].contains(&kind.as_str()),
                "{kind} without an id"
            );
            -1
        }
    };
    assert_eq!(data["kind"], kind.as_str());
    Some(Event { id, kind, data })
}

fn ids(events: &[Event]) -> Vec<i64> {
    events.iter().map(|e| e.id).collect()
}

#[tokio::test]
async fn a_new_message_is_pushed_to_connected_clients() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    let mut stream = Stream::connect(&app, Resume::No).await;

    app.deliver(&ch, ISSUE_BODY).await;
    let events = stream.until_messages(1).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["case.created", "message.created"]);
    let msg = &events[1].data;
    assert_eq!(msg["data"]["message"]["external_id"], "ext-1");
    assert_eq!(msg["data"]["message"]["text"], "…");
    assert_eq!(msg["data"]["message"]["direction"], "inbound");
    let case = &events[0].data;
    assert_eq!(case["data"]["case"]["status"], "new");
    assert_eq!(msg["case_id"], case["case_id"]);
    assert_eq!(events[1].id, events[0].id + 1);

    // A change by a person is pushed too.
    let case_id = case["case_id"].as_str().unwrap();
    let a = app
        .patch(
            &format!("/api/v1/cases/{case_id}"),
            &app.agent,
            &serde_json::json!({"priority": "urgent"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let e = stream.next().await;
    assert_eq!(e.kind, "case.updated");
    assert_eq!(e.data["data"]["case"]["priority"], "urgent");
    assert_eq!(e.id, events[1].id + 1);

    // So is a correction of what was understood in a message (open case pages refresh).
    let message = msg["data"]["message"]["id"].as_str().unwrap();
    for (what, label) in [("sentiment", "negative"), ("intent", "late_delivery")] {
        let a = app
            .post(
                &format!("/api/v1/messages/{message}/{what}"),
                &app.agent,
                &serde_json::json!({"label": label}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        let e = stream.next().await;
        assert_eq!(e.kind, "message.updated");
        assert_eq!(e.data["case_id"], case["case_id"]);
        assert_eq!(
            e.data["data"]["message"]["understanding"][what]["label"],
            label
        );
    }
}

#[tokio::test]
async fn a_client_that_reconnects_with_last_event_id_misses_nothing() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    let mut first = Stream::connect(&app, Resume::No).await;
    app.deliver(&ch, &message("s-1", "a", "u-1", "one")).await;
    app.deliver(&ch, &message("s-2", "a", "u-1", "two")).await;
    app.deliver(&ch, &message("s-3", "b", "u-2", "three")).await;
    let seen = first.until_messages(3).await;
    drop(first);
    let seen_ids = ids(&seen);
    assert_eq!(
        seen.len(),
        5,
        "2 case.created + 3 message.created: {seen:#?}"
    );
    assert!(
        seen_ids.windows(2).all(|w| w[1] == w[0] + 1),
        "no gaps: {seen_ids:?}"
    );

    // Everything after the first event, in order, then live.
    let mut resumed = Stream::connect(&app, Resume::Header(&seen[0].id.to_string())).await;
    let mut got = Vec::new();
    for _ in 1..seen.len() {
        got.push(resumed.next().await);
    }
    assert_eq!(got, seen[1..].to_vec());
    app.deliver(&ch, &message("s-4", "a", "u-1", "four")).await;
    let live = resumed.next().await;
    assert_eq!(live.kind, "message.created");
    assert_eq!(live.id, seen_ids[4] + 1);
    assert_eq!(live.data["data"]["message"]["external_id"], "s-4");
    assert_eq!(
        resumed.next_within(Duration::from_millis(300)).await,
        None,
        "nothing repeated"
    );
    drop(resumed);

    // From the very start, by query parameter: the whole journal exactly once.
    let mut all = Stream::connect(&app, Resume::Query(0)).await;
    let mut replay = Vec::new();
    for _ in 0..=seen.len() {
        replay.push(all.next().await);
    }
    assert_eq!(replay[..seen.len()], seen[..]);
    assert_eq!(replay[seen.len()], live);
    assert_eq!(all.next_within(Duration::from_millis(300)).await, None);

    // A Last-Event-ID this stream never sent.
    let a = app
        .http
        .get(app.url("/api/v1/stream"))
        .bearer_auth(&app.admin)
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    let a = Answer::read(a).await;
    assert_eq!(
        a.assert_problem(400, "invalid_field")["field"],
        "Last-Event-ID"
    );
}

#[tokio::test]
async fn a_burst_reaches_the_stream_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    let mut stream = Stream::connect(&app, Resume::No).await;
    let n = 60;
    let mut sends = Vec::new();
    for i in 0..n {
        let app = &app;
        let ch = &ch;
        sends.push(async move {
            app.deliver(
                ch,
                &message(&format!("b-{i}"), &format!("t-{}", i % 7), "u-1", "x"),
            )
            .await
        });
    }
    futures_util::future::join_all(sends).await;
    let events = stream.until_messages(n).await;
    let got = ids(&events);
    assert!(
        got.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive seqs, each once: {got:?}"
    );
    let created = events.iter().filter(|e| e.kind == "case.created").count();
    assert_eq!(created, 7);
}

/// Presence: a person with a case open is announced to colleagues' streams, and so is their
/// leaving (the page sends `?left=true` when it closes), at once.
#[tokio::test]
async fn viewing_and_leaving_a_case_reach_colleagues() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    app.deliver(&ch, ISSUE_BODY).await;
    let case = app.wait_for_message("ext-1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ada = app.person("ada", "agent").await;
    let mut stream = Stream::connect(&app, Resume::No).await;
    let presence = async |stream: &mut Stream| loop {
        let e = stream.next().await;
        if e.kind == "viewing" {
            return e.data;
        }
    };
    let path = format!("/api/v1/cases/{case}/viewing");
    let a = app
        .as_person(&ada, reqwest::Method::POST, &path, None)
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    let seen = presence(&mut stream).await;
    assert_eq!(
        (
            &seen["case_id"],
            &seen["author"],
            &seen["user_id"],
            &seen["left"]
        ),
        (
            &Value::from(case.as_str()),
            &Value::from("ada"),
            &Value::from(ada.id.as_str()),
            &Value::from(false)
        )
    );
    let a = app
        .as_person(
            &ada,
            reqwest::Method::POST,
            &format!("{path}?left=true"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    assert_eq!(presence(&mut stream).await["left"], true);

    for (bad, field) in [("?left=maybe", "left"), ("?leave=true", "leave")] {
        let a = app
            .as_person(&ada, reqwest::Method::POST, &format!("{path}{bad}"), None)
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
        assert!(a.text.contains(field), "{}", a.text);
    }
    app.as_person(
        &ada,
        reqwest::Method::POST,
        &format!("/api/v1/cases/{}/viewing", uuid::Uuid::now_v7()),
        None,
    )
    .await
    .assert_problem(404, "not_found");
}
