//! Regression tests against the real binary: first-start password, `user reset-password`, the
//! data-dir lock, usage errors, a lost secret key, and shutdown with an open live stream.

use crate::helpers::Answer;
use reqwest::StatusCode;
use serde_json::json;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

fn switchboard(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("SWITCHBOARD_DATA_DIR")
        .env_remove("SWITCHBOARD_DATABASE_URL")
        .env_remove("SWITCHBOARD_SECRET_KEY")
        .env_remove("SWITCHBOARD_LISTEN")
        .env_remove("SWITCHBOARD_OUTBOUND_MAX_ATTEMPTS")
        .env_remove("SWITCHBOARD_OUTBOUND_BASE_DELAY_MS")
        .env_remove("SWITCHBOARD_RETRAIN_AFTER")
        .env_remove("SWITCHBOARD_RETRAIN_EVERY_SECS")
        .env("RUST_LOG", "info");
    cmd
}

fn run(args: &[&str]) -> Output {
    switchboard(args).output().expect("run switchboard")
}

/// A new admin API token for the workspace in `data`, made with `switchboard token create`.
fn admin_token(data: &Path) -> String {
    let out = run(&[
        "token",
        "create",
        "--data-dir",
        path(data),
        "--name",
        "t",
        "--role",
        "admin",
    ]);
    assert!(out.status.success(), "{out:?}");
    text(&out.stdout).trim().to_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A spawned `switchboard serve`, its stdout and stderr read line by line; killed when
/// dropped.
struct Proc {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

fn lines_of(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Proc {
    fn serve(data_dir: &Path, listen: &str) -> Proc {
        let mut child = switchboard(&["serve", "--data-dir", path(data_dir), "--listen", listen])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start switchboard serve");
        let stdout = lines_of(child.stdout.take().unwrap());
        let stderr = lines_of(child.stderr.take().unwrap());
        Proc {
            child,
            stdout,
            stderr,
        }
    }

    /// Waits for the "listening" line; returns the address.
    fn address(&self) -> String {
        let line = self
            .stdout
            .recv_timeout(Duration::from_secs(60))
            .expect("switchboard serve printed nothing");
        line.split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned()
    }

    /// Waits (with a deadline) for the process to end.
    fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the process did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything printed so far (after the process ended).
    fn drain(rx: &mpsc::Receiver<String>) -> String {
        let mut out = String::new();
        while let Ok(l) = rx.recv_timeout(Duration::from_millis(500)) {
            out.push_str(&l);
            out.push('\n');
        }
        out
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn wait_healthy(http: &reqwest::Client, address: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{address}/healthz")).send().await
            && r.status() == StatusCode::OK
        {
            return;
        }
        assert!(Instant::now() < deadline, "the server never became healthy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn login(http: &reqwest::Client, address: &str, username: &str, password: &str) -> Answer {
    let r = http
        .post(format!("{address}/api/v1/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    Answer::read(r).await
}

fn first_password(server: &Proc) -> String {
    let line = server
        .stdout
        .recv_timeout(Duration::from_secs(10))
        .expect("a line about logging in");
    assert!(
        line.starts_with("First start: log in as \"admin\" with password "),
        "{line}"
    );
    line.rsplit(' ').next().unwrap().trim().to_owned()
}

const EXIT: Duration = Duration::from_secs(30);

// ----- 12 ----------------------------------------------------------------------------------

#[test]
fn the_first_admin_password_survives_a_failed_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();

    let mut failed = Proc::serve(&data, &format!("127.0.0.1:{port}"));
    let status = failed.wait_exit(EXIT);
    assert!(!status.success(), "{status:?}");
    let out = Proc::drain(&failed.stdout);
    assert!(!out.contains("password"), "{out}");
    drop(failed);
    drop(busy);

    let server = Proc::serve(&data, "127.0.0.1:0");
    let address = server.address();
    let password = first_password(&server);
    assert!(password.len() >= 12, "{password:?}");
    runtime().block_on(async {
        let http = reqwest::Client::new();
        wait_healthy(&http, &address).await;
        let a = login(&http, &address, "admin", &password).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    });
}

// ----- 13 ----------------------------------------------------------------------------------

#[test]
fn user_reset_password_prints_a_working_password() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Proc::serve(&data, "127.0.0.1:0");
    let address = server.address();
    let first = first_password(&server);

    let out = run(&[
        "user",
        "reset-password",
        "--data-dir",
        path(&data),
        "--username",
        "admin",
    ]);
    assert!(out.status.success(), "{out:?}");
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "only the password on stdout: {stdout:?}");
    let password = lines[0].trim().to_owned();
    assert!(password.len() >= 12, "{password:?}");
    assert_ne!(password, first);

    runtime().block_on(async {
        let http = reqwest::Client::new();
        wait_healthy(&http, &address).await;
        let a = login(&http, &address, "admin", &password).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        let a = login(&http, &address, "admin", &first).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.text);
    });

    let out = run(&[
        "user",
        "reset-password",
        "--data-dir",
        path(&data),
        "--username",
        "nosuchuser",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");

    let empty = dir.path().join("empty");
    let out = run(&[
        "user",
        "reset-password",
        "--data-dir",
        path(&empty),
        "--username",
        "admin",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(text(&out.stderr).contains("no database"), "{out:?}");
    assert!(!empty.join("switchboard.db").exists());
}

// ----- 14 ----------------------------------------------------------------------------------

#[test]
fn a_second_server_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = Proc::serve(&data, "127.0.0.1:0");
    let address = first.address();

    let mut second = Proc::serve(&data, "127.0.0.1:0");
    let status = second.wait_exit(EXIT);
    assert!(!status.success(), "{status:?}");
    let err = Proc::drain(&second.stderr);
    assert!(err.contains("another switchboard server"), "{err}");
    let out = Proc::drain(&second.stdout);
    assert!(!out.contains("listening"), "{out}");

    // The first one still serves.
    runtime().block_on(wait_healthy(&reqwest::Client::new(), &address));
}

// ----- 15 ----------------------------------------------------------------------------------

#[test]
fn token_create_needs_a_database_and_usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    let out = run(&[
        "token",
        "create",
        "--data-dir",
        path(&empty),
        "--name",
        "t",
        "--role",
        "admin",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(text(&out.stderr).contains("no database"), "{out:?}");
    assert!(!empty.join("switchboard.db").exists());

    let out = run(&[
        "token",
        "create",
        "--data-dir",
        path(&empty),
        "--name",
        "t",
        "--role",
        "god",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");

    let mut bad = switchboard(&[
        "serve",
        "--data-dir",
        path(&dir.path().join("d")),
        "--database",
        "nonsense",
        "--listen",
        "127.0.0.1:0",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + EXIT;
    let status = loop {
        if let Some(s) = bad.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = bad.kill();
            let _ = bad.wait();
            panic!("serve --database nonsense did not exit");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(2), "{status:?}");
}

// ----- 16 ----------------------------------------------------------------------------------

#[test]
fn a_lost_secret_key_is_detected_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Proc::serve(&data, "127.0.0.1:0");
    let address = server.address();
    let token = admin_token(&data);
    runtime().block_on(async {
        let http = reqwest::Client::new();
        wait_healthy(&http, &address).await;
        let r = http
            .post(format!("{address}/api/v1/channels"))
            .bearer_auth(&token)
            .json(
                &json!({"kind": "webhook", "name": "Keyed", "outbound_url": "http://127.0.0.1:9/"}),
            )
            .send()
            .await
            .unwrap();
        let a = Answer::read(r).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    });
    drop(server);
    std::fs::remove_file(data.join("secret.key")).expect("remove secret.key");

    let mut again = Proc::serve(&data, "127.0.0.1:0");
    let status = again.wait_exit(EXIT);
    assert!(!status.success(), "{status:?}");
    let err = Proc::drain(&again.stderr);
    assert!(err.contains("secret key"), "{err}");
    let out = Proc::drain(&again.stdout);
    assert!(!out.contains("listening"), "{out}");
}

#[test]
fn retraining_settings_come_from_the_file_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let toml = dir.path().join("sb.toml");
    std::fs::write(&toml, "retrain_after = 7\nretrain_every_secs = 99\n").unwrap();
    let mut child = switchboard(&[
        "serve",
        "--config",
        path(&toml),
        "--data-dir",
        path(&data),
        "--listen",
        "127.0.0.1:0",
        "--retrain-every-secs",
        "5",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("serve");
    let server = Proc {
        stdout: lines_of(child.stdout.take().unwrap()),
        stderr: lines_of(child.stderr.take().unwrap()),
        child,
    };
    let address = server.address();
    let token = admin_token(&data);
    runtime().block_on(async {
        let http = reqwest::Client::new();
        wait_healthy(&http, &address).await;
        let r = http
            .get(format!("{address}/api/v1/models"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let a = Answer::read(r).await;
        let purpose = &a.json["learning"]["purpose"];
        assert_eq!(purpose["retrain_after"], 7, "from the file: {}", a.text);
        assert_eq!(
            purpose["checks_every_seconds"], 5.0,
            "the flag wins: {}",
            a.text
        );
    });
    drop(server);
    let out = run(&["serve", "--data-dir", path(&data), "--retrain-after", "0"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains("retrain-after"), "{out:?}");
}

// ----- 17 ----------------------------------------------------------------------------------

#[test]
fn sigterm_ends_the_server_even_with_an_open_live_stream() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = run(&["migrate", "--data-dir", path(&data)]);
    assert!(out.status.success(), "{out:?}");
    let token = admin_token(&data);

    let mut server = Proc::serve(&data, "127.0.0.1:0");
    let address = server.address();
    let rt = runtime();
    let stream = rt.block_on(async {
        let http = reqwest::Client::new();
        wait_healthy(&http, &address).await;
        let r = http
            .get(format!("{address}/api/v1/stream"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r
    });

    let pid = server.child.id();
    let kill = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(kill.success());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let status = status.unwrap_or_else(|| {
        panic!(
            "the server did not exit within 10 s of SIGTERM with a live stream open; stderr: {}",
            Proc::drain(&server.stderr)
        )
    });
    assert!(status.success(), "{status:?}");
    drop(stream);
}

/// `switchboard playbook check`: the example of issue 3 is valid (exit 0); a broken file
/// gets every problem as FILE:LINE:COL: message on stdout and exit 1.
#[test]
fn playbook_check_reports_every_problem_with_its_position() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/playbook.toml");
    let ok = run(&["playbook", "check", example]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(
        text(&ok.stdout).contains("valid (4 teams, 3 rules)"),
        "{}",
        text(&ok.stdout)
    );

    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[team]]\nid = \"pr\"\nname = \"PR\"\n\n[[rule]]\nname = \"r\"\nwhen.text_regex = \"(oops\"\nthen.team = \"ghost\"\nthen.priority = \"asap\"\n",
    )
    .unwrap();
    let out = run(&["playbook", "check", path(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let file = path(&bad);
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with(&format!("{file}:7:19: bad regex")),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with(&format!("{file}:8:13: team: unknown team \"ghost\"")),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with(&format!("{file}:9:17: unknown priority")),
        "{stdout}"
    );

    std::fs::write(
        &bad,
        "[[rule]]\nname = \"r\"\nwhen.txt_any = [\"x\"]\nthen.purpose = \"sales\"\n",
    )
    .unwrap();
    let out = run(&["playbook", "check", path(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).starts_with(&format!("{}:3:6: unknown field `txt_any`", path(&bad))),
        "{}",
        text(&out.stdout)
    );

    let missing = run(&["playbook", "check", "/nonexistent/playbook.toml"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("cannot read"));
}

/// `switchboard playbook apply | versions | show | simulate | restore` on the database of a
/// running server: a version applied by the CLI routes the server's next case.
#[test]
fn playbook_commands_work_beside_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = path(&data);
    let server = Proc::serve(&data, "127.0.0.1:0");
    let address = server.address();
    let token = run(&[
        "token",
        "create",
        "--data-dir",
        d,
        "--name",
        "t",
        "--role",
        "admin",
    ]);
    assert!(token.status.success(), "{token:?}");
    let token = text(&token.stdout).trim().to_owned();

    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/playbook.toml");
    let out = run(&["playbook", "apply", "--data-dir", d, example]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        text(&out.stdout).contains("as version 1 (4 teams, 3 rules;"),
        "{}",
        text(&out.stdout)
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[rule]]\nname = \"r\"\nthen.team = \"ghost\"\n").unwrap();
    let out = run(&["playbook", "apply", "--data-dir", d, path(&bad)]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stdout).starts_with(&format!("{}:3:13: team: unknown team", path(&bad))),
        "{out:?}"
    );
    assert!(
        text(&out.stderr).contains("the active playbook is unchanged"),
        "{out:?}"
    );

    // check knows the workspace's teams once there is a database.
    let uses_pr = dir.path().join("uses-pr.toml");
    std::fs::write(
        &uses_pr,
        "[[rule]]\nname = \"r\"\nthen.team = \"pr\"\nthen.purpose = \"support\"\n",
    )
    .unwrap();
    let out = run(&["playbook", "check", "--data-dir", d, path(&uses_pr)]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    runtime().block_on(async {
        let http = reqwest::Client::new();
        wait_healthy(&http, &address).await;
        let ch = Answer::read(
            http.post(format!("{address}/api/v1/channels"))
                .bearer_auth(&token)
                .json(&json!({"kind": "webhook", "name": "App", "outbound_url": "http://127.0.0.1:9/x"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(ch.status, StatusCode::CREATED, "{}", ch.text);
        let body = json!({"id": "m-1", "public": true, "from": {"id": "u-1"}, "text": "Data breach?!"}).to_string();
        let sig = crate::helpers::sign(ch.json["secret"].as_str().unwrap(), body.as_bytes());
        let r = http
            .post(format!("{address}/hooks/webhook/{}", ch.json["id"].as_str().unwrap()))
            .header("X-Switchboard-Signature", sig)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let cases = Answer::read(
                http.get(format!("{address}/api/v1/cases"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            if let Some(c) = cases.json["items"].as_array().and_then(|a| a.first()) {
                assert_eq!(c["purpose"], "crisis", "{c}");
                assert_eq!(c["routing"]["playbook_version"], 1, "{c}");
                break;
            }
            assert!(Instant::now() < deadline, "the case never appeared");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });

    let out = run(&[
        "playbook",
        "simulate",
        "--data-dir",
        d,
        path(&uses_pr),
        "--since",
        "1h",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report = text(&out.stdout);
    assert!(report.contains("on 1 cases created since"), "{report}");
    assert!(
        report.contains("Routed differently: 1 of 1 cases (100.0%)"),
        "{report}"
    );
    assert!(report.contains("crisis/pr -> support/pr"), "{report}");
    let out = run(&[
        "playbook",
        "simulate",
        "--data-dir",
        d,
        path(&uses_pr),
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["cases"], 1);
    let out = run(&[
        "playbook",
        "simulate",
        "--data-dir",
        d,
        path(&uses_pr),
        "--since",
        "soon",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    let out = run(&["playbook", "apply", "--data-dir", d, path(&uses_pr)]);
    assert!(out.status.success(), "{out:?}");
    let out = run(&["playbook", "restore", "--data-dir", d, "1"]);
    assert_eq!(
        text(&out.stdout).trim(),
        "restored version 1 as version 3 (4 teams, 3 rules)"
    );
    let out = run(&["playbook", "versions", "--data-dir", d]);
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].starts_with("*   3") && lines[0].ends_with("(restored from 1)"),
        "{lines:?}"
    );
    let out = run(&["playbook", "show", "--data-dir", d, "2"]);
    assert_eq!(
        text(&out.stdout),
        std::fs::read_to_string(&uses_pr).unwrap()
    );
    let out = run(&["playbook", "restore", "--data-dir", d, "9"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("there is no playbook version 9"),
        "{out:?}"
    );
}

#[test]
fn kb_import_is_all_or_nothing_then_export_and_search_read_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(dir.path());
    assert!(run(&["migrate", "--data-dir", data]).status.success());
    let file = dir.path().join("kb.jsonl");
    let game = json!({"type": "article", "title": "When does the game start?",
                      "body": "Saturday's home game starts at 7 pm.", "questions": ["kick-off time"]});
    let aid = json!({"type": "article", "title": "Financial aid", "body": "Apply before 1 March."});
    std::fs::write(
        &file,
        format!("{game}\n{{\"type\": \"article\"}}\nnot json\n"),
    )
    .unwrap();
    let bad = run(&["kb", "import", "--data-dir", data, "--file", path(&file)]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    let err = text(&bad.stderr);
    assert!(
        err.contains("kb.jsonl:2: title:") && err.contains("kb.jsonl:3:"),
        "{err}"
    );
    let export = run(&["kb", "export", "--data-dir", data]);
    assert_eq!(text(&export.stdout), "", "nothing was imported");

    std::fs::write(&file, format!("{game}\n\n{aid}\n")).unwrap();
    let good = run(&["kb", "import", "--data-dir", data, "--file", path(&file)]);
    assert!(good.status.success(), "{}", text(&good.stderr));
    assert_eq!(
        text(&good.stdout).trim(),
        "imported 2 article(s) and 0 canned response(s)"
    );
    let export = text(&run(&["kb", "export", "--data-dir", data]).stdout);
    assert_eq!(export.lines().count(), 2, "{export}");
    assert!(export.contains("\"version\":1"), "{export}");
    let search = run(&[
        "kb",
        "search",
        "--data-dir",
        data,
        "--query",
        "what time is kick off",
    ]);
    let out = text(&search.stdout);
    assert!(
        out.lines()
            .next()
            .unwrap_or("")
            .contains("When does the game start?"),
        "{out}"
    );
    let bad_kind = run(&[
        "kb",
        "search",
        "--data-dir",
        data,
        "--query",
        "x",
        "--kind",
        "recipes",
    ]);
    assert_eq!(bad_kind.status.code(), Some(2));
}

#[test]
fn kb_entries_one_at_a_time_and_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    let data = path(dir.path());
    assert!(run(&["migrate", "--data-dir", data]).status.success());
    let doc = dir.path().join("hours.json");
    std::fs::write(
        &doc,
        json!({"title": "Opening hours", "body": "9 to 5.", "tags": ["hours"]}).to_string(),
    )
    .unwrap();
    let created = run(&["kb", "create", "--data-dir", data, "--file", path(&doc)]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let id = text(&created.stdout).trim().to_owned();
    let list = text(&run(&["kb", "list", "--data-dir", data]).stdout);
    assert_eq!(list.trim(), format!("{id}\tv1\tOpening hours"));

    // A new version; a stale one is refused; a bad document names its field.
    std::fs::write(
        &doc,
        json!({"title": "Opening hours", "body": "9 to 6 from December."}).to_string(),
    )
    .unwrap();
    let update = |version: &str| {
        run(&[
            "kb",
            "update",
            "--data-dir",
            data,
            &id,
            "--file",
            path(&doc),
            "--version",
            version,
        ])
    };
    let ok = update("1");
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout).trim(), format!("{id} is at version 2"));
    let stale = update("1");
    assert_eq!(stale.status.code(), Some(2));
    assert!(
        text(&stale.stderr).contains("version 2"),
        "{}",
        text(&stale.stderr)
    );
    let shown: serde_json::Value =
        serde_json::from_slice(&run(&["kb", "show", "--data-dir", data, &id]).stdout).unwrap();
    assert_eq!(shown["body"], "9 to 6 from December.");
    std::fs::write(&doc, json!({"body": "no title"}).to_string()).unwrap();
    let bad = run(&["kb", "create", "--data-dir", data, "--file", path(&doc)]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("title"), "{}", text(&bad.stderr));
    let missing = run(&["kb", "show", "--data-dir", data, "no-such-id"]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing.stderr));

    // CSV: a bad row stops the import; a good sheet imports; export reads back.
    let sheet = dir.path().join("kb.csv");
    std::fs::write(
        &sheet,
        "type,title,body,name,text,tags\narticle,Parking,Lots A and B.,,,parking|cars\ncanned,,,thanks,,\n",
    )
    .unwrap();
    let bad = run(&["kb", "import", "--data-dir", data, "--file", path(&sheet)]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("kb.csv:3: text:"),
        "{}",
        text(&bad.stderr)
    );
    std::fs::write(
        &sheet,
        "type,title,body,name,text,tags\narticle,Parking,Lots A and B.,,,parking|cars\ncanned,,,thanks,Thank you {{contact.first_name}}!,\n",
    )
    .unwrap();
    let good = run(&["kb", "import", "--data-dir", data, "--file", path(&sheet)]);
    assert!(good.status.success(), "{}", text(&good.stderr));
    let csv = text(&run(&["kb", "export", "--data-dir", data, "--format", "csv"]).stdout);
    assert!(csv.starts_with("type,title,name,body,text,tags"), "{csv}");
    assert!(
        csv.contains("article,Parking,,Lots A and B.,,parking|cars"),
        "{csv}"
    );

    // Archived: listed only with --archived.
    let archived = run(&["kb", "archive", "--data-dir", data, &id]);
    assert!(archived.status.success(), "{}", text(&archived.stderr));
    let list = text(&run(&["kb", "list", "--data-dir", data]).stdout);
    assert!(!list.contains(&id) && list.contains("Parking"), "{list}");
    let list = text(&run(&["kb", "list", "--data-dir", data, "--archived"]).stdout);
    assert!(list.contains(&id), "{list}");
    // Restored: listed again, as it was.
    let restored = run(&["kb", "restore", "--data-dir", data, &id]);
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    assert!(text(&restored.stdout).starts_with(&format!("restored {id} at version ")));
    let list = text(&run(&["kb", "list", "--data-dir", data]).stdout);
    assert!(list.contains(&id), "{list}");
    let missing = run(&["kb", "restore", "--data-dir", data, "nope"]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing.stderr));
}

#[test]
fn kb_eval_scores_retrieval_against_labelled_questions() {
    let dir = tempfile::tempdir().unwrap();
    let kb = dir.path().join("kb.jsonl");
    let game = json!({"type": "article", "title": "When does the game start?",
                      "body": "The home game starts at 7 pm.", "intents": ["game_time"]});
    let aid = json!({"type": "article", "title": "Financial aid applications",
                     "body": "Apply for grants and loans before 1 March.", "intents": ["aid"]});
    std::fs::write(&kb, format!("{game}\n{aid}\n")).unwrap();
    let questions = dir.path().join("q.csv");
    // Two the words find, one they cannot (no shared word): top-1 2/3.
    std::fs::write(
        &questions,
        "text,label\nwhat time does the game start,game_time\nhow do I apply for a grant,aid\nkick-off?,game_time\n",
    )
    .unwrap();
    let out = run(&["kb", "eval", "--kb", path(&kb), "--input", path(&questions)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["articles"].as_u64(), report["questions"].as_u64()),
        (Some(2), Some(3))
    );
    let top1 = report["words"]["top1"].as_f64().unwrap();
    assert!((top1 - 2.0 / 3.0).abs() < 1e-9, "{report}");
    // Every other row only.
    let out = run(&[
        "kb",
        "eval",
        "--kb",
        path(&kb),
        "--input",
        path(&questions),
        "--every",
        "2",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["questions"], 1);
    let missing = run(&[
        "kb",
        "eval",
        "--kb",
        "/nonexistent.jsonl",
        "--input",
        path(&questions),
    ]);
    assert!(!missing.status.success());
}

/// `bench deflection` runs a fresh demo end to end: labelled traffic through the real
/// webhooks, automatic answers from the demo's knowledge base, each case judged. At the
/// demo's threshold no answer is wrong; with the threshold lowered, wrong answers show (so
/// the judging can fail), and a threshold out of range is refused.
#[test]
fn bench_deflection_judges_the_demo_automatic_answers() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let out = run(&[
        "bench",
        "deflection",
        "--messages",
        "120",
        "--data-dir",
        path(&ws),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["cases"], 120, "{r}");
    assert!(r["auto_answered"].as_u64().unwrap() > 5, "{r}");
    assert_eq!(r["wrong"], 0, "{r}");
    assert_eq!(r["auto_answered"], r["correct"], "{r}");
    // The workspace was kept where asked, and a second run there is refused.
    assert!(ws.join("switchboard.db").exists());
    let again = run(&["bench", "deflection", "--data-dir", path(&ws)]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("already holds a workspace"));

    let out = run(&[
        "bench",
        "deflection",
        "--messages",
        "120",
        "--min-confidence",
        "0.2",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let low: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(low["wrong"].as_u64().unwrap() > 0, "{low}");
    assert!(
        low["auto_answered"].as_u64() > r["auto_answered"].as_u64(),
        "{low}"
    );

    let bad = run(&["bench", "deflection", "--min-confidence", "1.5"]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("between 0 and 1"));
}

/// `switchboard demo`, the README's first command: every kind of channel, live traffic, and
/// the e-mail channel working both ways — a real SMTP client (Python's smtplib) mails the
/// demo's SMTP listener, the mail is filed, and a reply leaves through the demo's relay.
#[test]
fn the_demo_takes_mail_and_chat_and_shows_live_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", crate::helpers::free_port());
    let mut child = switchboard(&["demo", "--data-dir", path(dir.path()), "--listen", &listen])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start switchboard demo");
    let stdout = lines_of(child.stdout.take().unwrap());
    let mut proc = Proc {
        child,
        stdout,
        stderr: mpsc::channel().1,
    };
    let mut banner = Vec::new();
    while !banner
        .iter()
        .any(|l: &String| l.starts_with("Live traffic"))
    {
        let line = proc
            .stdout
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("the demo's banner stopped at {banner:?}"));
        banner.push(line);
    }
    let word_after = |prefix: &str| {
        banner
            .iter()
            .find_map(|l| l.split(prefix).nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .map(|w| w.trim_end_matches(';').to_owned())
            .unwrap_or_else(|| panic!("no {prefix:?} in {banner:?}"))
    };
    let base = word_after("Switchboard demo: ");
    let smtp = word_after("arrives over SMTP at ");
    assert!(
        banner.iter().any(|l| l.contains("on 9 channels")),
        "{banner:?}"
    );
    runtime().block_on(async {
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{base}/api/v1/login"))
            .json(&json!({"username": "admin", "password": "switchboard-demo"}))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), StatusCode::OK);
        let cookie = r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let call = |method: reqwest::Method, path: &str, body: Option<serde_json::Value>| {
            let mut req = http
                .request(method, format!("{base}/api/v1{path}"))
                .header("Cookie", &cookie)
                .header("X-CSRF-Token", crate::helpers::csrf_of(&cookie));
            if let Some(b) = body {
                req = req.json(&b);
            }
            async move { Answer::read(req.send().await.expect("request")).await }
        };
        let channels = call(reqwest::Method::GET, "/channels", None).await;
        let items = channels.json["items"].as_array().expect("channels").clone();
        let mut kinds: Vec<&str> = items.iter().filter_map(|c| c["kind"].as_str()).collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                "email",
                "instagram",
                "messenger",
                "telegram",
                "twilio",
                "webchat",
                "webhook",
                "whatsapp",
                "x"
            ]
        );
        let email = items.iter().find(|c| c["kind"] == "email").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let chat = items.iter().find(|c| c["kind"] == "webchat").unwrap();
        assert_eq!(
            chat["config"]["allowed_origins"],
            json!(["https://www.lakeside.example"])
        );

        // A mail from a real SMTP client to the demo's listener.
        let (host, port) = smtp.rsplit_once(':').expect("host:port");
        let sent = std::process::Command::new("python3")
            .args([
                "-c",
                "import smtplib, sys\n\
                 from email.message import EmailMessage\n\
                 m = EmailMessage()\n\
                 m['From'] = 'Nia Test <nia@example.net>'\n\
                 m['To'] = 'help@lakeside.example'\n\
                 m['Subject'] = 'Open day'\n\
                 m.set_content('Is there parking for the open day? (demo-mail-check)')\n\
                 with smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=30) as s:\n\
                 \x20   s.send_message(m)\n",
                host,
                port,
            ])
            .output()
            .expect("python3");
        assert!(sent.status.success(), "{}", text(&sent.stderr));
        let case = crate::helpers::wait_for("the mail filed on a case", || async {
            let cases = call(reqwest::Method::GET, "/cases?limit=200", None).await;
            for c in cases.json["items"].as_array()? {
                if c["channel_id"] != email.as_str() {
                    continue;
                }
                let id = c["id"].as_str()?;
                let detail = call(reqwest::Method::GET, &format!("/cases/{id}"), None).await;
                if detail.text.contains("demo-mail-check") {
                    return Some(id.to_owned());
                }
            }
            None
        })
        .await;
        let reply = call(
            reqwest::Method::POST,
            &format!("/cases/{case}/replies"),
            Some(json!({"text": "Yes: lots P2 and P3 are free on open day."})),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let id = reply.json["id"].as_str().unwrap().to_owned();
        crate::helpers::wait_for("the mailed reply through the relay", || async {
            let detail = call(reqwest::Method::GET, &format!("/cases/{case}"), None).await;
            detail.json["messages"]
                .as_array()?
                .iter()
                .any(|m| m["id"] == id.as_str() && m["delivery_state"] == "sent")
                .then_some(())
        })
        .await;

        // And the live traffic files cases on its own.
        crate::helpers::wait_for("live traffic", || async {
            let cases = call(reqwest::Method::GET, "/cases?limit=200", None).await;
            (cases.json["items"].as_array()?.len() >= 4).then_some(())
        })
        .await;
    });
    let _ = proc.child.kill();
    let _ = proc.child.wait();

    // Started again on the same workspace, the demo keeps all nine channels' traffic going:
    // the website form's webhook, whose first secret was shown once, gets a new one.
    let listen = format!("127.0.0.1:{}", crate::helpers::free_port());
    let mut child = switchboard(&["demo", "--data-dir", path(dir.path()), "--listen", &listen])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start switchboard demo again");
    let stdout = lines_of(child.stdout.take().unwrap());
    let mut again = Vec::new();
    while !again.iter().any(|l: &String| l.starts_with("Live traffic")) {
        match stdout.recv_timeout(Duration::from_secs(120)) {
            Ok(line) => again.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!("the restarted demo's banner stopped at {again:?}");
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        again.iter().any(|l| l.contains("on 9 channels")),
        "{again:?}"
    );
}
