//! `switchboard model train|eval` and `switchboard analyze` against the real binary (issue 4):
//! a model trained from a CSV scores its examples, `analyze` writes one JSON line per input
//! line, and bad files get a clear error naming the problem, exit 1, and no model written.

use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("SWITCHBOARD_DATA_DIR")
        .output()
        .expect("run switchboard")
}

/// Runs the binary with `input` on its standard input (small: written before the output is
/// read).
fn run_with_input(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("SWITCHBOARD_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run switchboard");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    child.wait_with_output().expect("wait for switchboard")
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `model eval` of `model` on an intents file (`category` labels), which must succeed: its
/// report.
fn eval_intents(model: &Path, data: &Path) -> Value {
    let out = run(&[
        "model",
        "eval",
        "--model",
        p(model),
        "--input",
        p(data),
        "--label-column",
        "category",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A small intent set the test writes itself: three intents, eight phrasings each.
pub fn intents_csv() -> String {
    let mut out = String::from("text,category\n");
    let sets: [(&str, [&str; 8]); 3] = [
        (
            "card_arrival",
            [
                "when will my new card arrive",
                "my card has not arrived yet",
                "where is the card you sent",
                "still waiting for my card in the post",
                "how long does card delivery take",
                "card not delivered",
                "has my card been shipped",
                "I ordered a card two weeks ago and nothing",
            ],
        ),
        (
            "refund",
            [
                "I want my money back",
                "how do I get a refund",
                "refund the payment please",
                "please return the money for this order",
                "can I be reimbursed",
                "the refund has not come through",
                "requesting a refund for a duplicate charge",
                "give me a refund, \"now\"",
            ],
        ),
        (
            "exchange_rate",
            [
                "what exchange rate do you use",
                "how much is a dollar in euros",
                "the rate for pounds is bad",
                "which currency rates apply abroad",
                "conversion rate for yen",
                "why was the exchange rate so high",
                "do you charge for currency exchange",
                "euro to dollar rate today",
            ],
        ),
    ];
    for (label, texts) in sets {
        for t in texts {
            out.push_str(&format!("\"{}\",{label}\n", t.replace('"', "\"\"")));
        }
    }
    out
}

/// Writes the intent set to `dir` and trains a model on it; returns both paths and the run.
pub fn train_fixture(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, Output) {
    let data = dir.join("intents.csv");
    std::fs::write(&data, intents_csv()).unwrap();
    let model = dir.join("intents.model");
    let out = run(&[
        "model",
        "train",
        "--input",
        p(&data),
        "--text-column",
        "text",
        "--label-column",
        "category",
        "--out",
        p(&model),
    ]);
    (data, model, out)
}

#[test]
fn train_eval_and_analyze() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model, out) = train_fixture(dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (summary["labels"].as_u64(), summary["examples"].as_u64()),
        (Some(3), Some(24))
    );
    assert!(std::fs::metadata(&model).unwrap().len() > 0);

    let report = eval_intents(&model, &data);
    assert!(report["accuracy"].as_f64().unwrap() >= 0.95, "{report}");
    assert!(report["macro_f1"].as_f64().unwrap() >= 0.95, "{report}");
    assert_eq!(report["per_label"]["refund"]["support"], 8);
    assert!(report["predictions_per_second"].as_f64().unwrap() > 0.0);
    // Calibration: the bins hold every example, and the share answered above the floor and
    // its accuracy agree with them.
    let cal = &report["calibration"];
    let bins = cal["bins"].as_array().unwrap();
    let binned: u64 = bins.iter().map(|b| b["examples"].as_u64().unwrap()).sum();
    assert_eq!(binned, 24, "{cal}");
    let ece = cal["expected_calibration_error"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&ece), "{cal}");
    let floor = cal["unknown_below"].as_f64().unwrap();
    assert_eq!(floor, 0.3, "the default floor, as written: {cal}");
    let above: u64 = bins
        .iter()
        .filter(|b| b["from"].as_f64().unwrap() >= floor)
        .map(|b| b["examples"].as_u64().unwrap())
        .sum();
    let answered = cal["answered"].as_f64().unwrap();
    assert!(answered * 24.0 >= above as f64 - 1e-9, "{cal}");
    assert!(cal["answered_accuracy"].as_f64().unwrap() >= 0.95, "{cal}");
    // The confusion holds every example once, and its diagonal is the accuracy.
    let confusion = report["confusion"].as_object().unwrap();
    let (mut cells, mut right) = (0, 0);
    for (gold, row) in confusion {
        for (predicted, n) in row.as_object().unwrap() {
            let n = n.as_u64().unwrap();
            cells += n;
            if gold == predicted {
                right += n;
            }
        }
    }
    assert_eq!(cells, 24, "{confusion:?}");
    assert!((right as f64 / 24.0 - report["accuracy"].as_f64().unwrap()).abs() < 1e-9);

    let out = run_with_input(
        &["analyze", "--model", p(&model)],
        "my card still has not arrived, so annoying!!\nI love you guys 😍\nmail me at ann@example.com\n".as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["intent"]["label"], "card_arrival", "{}", lines[0]);
    // Why: the words that weighed most, as the API gives them.
    let because = lines[0]["intent"]["because"].as_array().unwrap();
    assert!(!because.is_empty() && because.len() <= 3, "{}", lines[0]);
    assert!(
        because
            .iter()
            .any(|e| e["feature"].as_str().unwrap().contains("card")
                || e["feature"].as_str().unwrap().contains("arriv")),
        "{}",
        lines[0]
    );
    assert_eq!(lines[0]["sentiment"]["label"], "negative", "{}", lines[0]);
    assert_eq!(lines[0]["language"], "en");
    assert_eq!(lines[1]["sentiment"]["label"], "positive", "{}", lines[1]);
    assert_eq!(
        lines[2]["personal_data"][0]["kind"], "email",
        "{}",
        lines[2]
    );
    assert_eq!(
        (
            lines[2]["personal_data"][0]["start"].as_u64(),
            lines[2]["personal_data"][0]["end"].as_u64()
        ),
        (Some(11), Some(26))
    );
    for l in &lines {
        let purpose = l["purpose"]["label"].as_str().unwrap();
        assert!(
            [
                "tier1",
                "support",
                "sales",
                "marketing_pr",
                "crisis",
                "unknown"
            ]
            .contains(&purpose),
            "{l}"
        );
        for key in [
            "intent",
            "purpose",
            "sentiment",
            "language",
            "personal_data",
        ] {
            assert!(l.get(key).is_some(), "{key} in {l}");
        }
    }
}

#[test]
fn bad_training_files_are_refused_by_name_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.model");
    let cases: &[(&str, &str, &[&str])] = &[
        ("empty.csv", "", &["empty"]),
        ("header-only.csv", "text,category\n", &["no examples"]),
        (
            "wrong-column.csv",
            "txt,category\nhi,a\n",
            &["no column \"text\"", "\"txt\""],
        ),
        (
            "lonely.csv",
            "text,category\na,x\nb,x\nc,y\n",
            &["label \"y\" has only 1 example"],
        ),
        (
            "one-label.csv",
            "text,category\na,x\nb,x\n",
            &["only one label"],
        ),
        ("ragged.csv", "text,category\nhi,a,extra\n", &["line 2"]),
    ];
    for (name, body, wants) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, body).unwrap();
        let out = run(&[
            "model",
            "train",
            "--input",
            p(&file),
            "--label-column",
            "category",
            "--out",
            p(&model),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        for want in *wants {
            assert!(err.contains(want), "{name}: {err}");
        }
        assert!(!model.exists(), "{name}: no model written");
    }
    // Saved as Latin-1, not UTF-8: the line is named.
    let latin1 = dir.path().join("latin1.csv");
    std::fs::write(&latin1, b"text,category\nhola,a\nadi\xf3s,b\n").unwrap();
    let out = run(&[
        "model",
        "train",
        "--input",
        p(&latin1),
        "--label-column",
        "category",
        "--out",
        p(&model),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3 is not UTF-8 text (byte 24)"), "{err}");
    assert!(!model.exists());
    let jsonl = dir.path().join("bad.jsonl");
    std::fs::write(&jsonl, "{\"text\": \"hi\", \"label\": \"a\"}\nnot json\n").unwrap();
    let out = run(&[
        "model",
        "train",
        "--input",
        p(&jsonl),
        "--format",
        "jsonl",
        "--out",
        p(&model),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2: not JSON"));
    // The file's name says JSON Lines: read as such without --format.
    let out = run(&["model", "train", "--input", p(&jsonl), "--out", p(&model)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2: not JSON"));
    let out = run(&["analyze", "--model", "builtin:intent"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("builtin:purpose and builtin:sentiment"));
    let out = run(&[
        "model",
        "train",
        "--input",
        p(&jsonl),
        "--format",
        "xml",
        "--out",
        p(&model),
    ]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
}

/// The intent set as TSV: each row's last comma (before the label) becomes a tab; the quoted
/// texts stay quoted, as spreadsheets write them.
fn intents_tsv() -> String {
    intents_csv()
        .lines()
        .map(|l| {
            let (text, label) = l.rsplit_once(',').unwrap();
            format!("{text}\t{label}\n")
        })
        .collect()
}

#[test]
fn a_tsv_file_trains_the_same_model_as_its_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (data, from_csv, out) = train_fixture(dir.path());
    assert!(out.status.success());
    let want = eval_intents(&from_csv, &data);
    // By its name (.tsv), by its header (a .txt file), and by --format.
    let tsv = dir.path().join("intents.tsv");
    let txt = dir.path().join("intents.txt");
    std::fs::write(&tsv, intents_tsv()).unwrap();
    std::fs::write(&txt, intents_tsv()).unwrap();
    let probe = "where is my card\nrefund me now\nthe rate for dollars\n";
    let read = |model: &Path| run_with_input(&["analyze", "--model", p(model)], probe.as_bytes());
    let csv_says = read(&from_csv);
    for (input, format) in [(&tsv, None), (&txt, None), (&txt, Some("tsv"))] {
        let model = dir.path().join("from-tsv.model");
        let mut args = vec![
            "model",
            "train",
            "--input",
            p(input),
            "--label-column",
            "category",
            "--out",
            p(&model),
        ];
        args.extend(format.iter().flat_map(|f| ["--format", *f]));
        let out = run(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got["examples"], 24, "{input:?}");
        assert_eq!(got["labels"], 3);
        assert_eq!(eval_intents(&model, &tsv)["accuracy"], want["accuracy"]);
        assert_eq!(read(&model).stdout, csv_says.stdout, "the same predictions");
    }
    // A TSV file read as CSV says what it is.
    let out = run(&[
        "model",
        "train",
        "--input",
        p(&tsv),
        "--format",
        "csv",
        "--label-column",
        "category",
        "--out",
        p(&dir.path().join("never.model")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the header is separated by tabs: read the file as TSV"),
        "{err}"
    );
    assert!(!dir.path().join("never.model").exists());
}

#[test]
fn a_damaged_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model, out) = train_fixture(dir.path());
    assert!(out.status.success());
    let mut bytes = std::fs::read(&model).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&model, &bytes).unwrap();
    let out = run(&[
        "model",
        "eval",
        "--model",
        p(&model),
        "--input",
        p(&data),
        "--label-column",
        "category",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("damaged"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&model, b"hello").unwrap();
    let out = run(&["analyze", "--model", p(&model)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a Switchboard model"));
}

#[test]
fn install_list_and_roll_back_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model, out) = train_fixture(dir.path());
    assert!(out.status.success());
    let data = dir.path().join("data");
    let d = p(&data);
    let out = run(&["migrate", "--data-dir", d]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Two files, then the first again: that is version 1 made active again, not a copy.
    let (data_csv, second) = (
        dir.path().join("intents.csv"),
        dir.path().join("second.model"),
    );
    let out = run(&[
        "model",
        "train",
        "--input",
        p(&data_csv),
        "--label-column",
        "category",
        "--unknown-below",
        "0.5",
        "--out",
        p(&second),
    ]);
    assert!(out.status.success(), "{out:?}");
    for (file, said) in [
        (&model, "installed"),
        (&second, "installed"),
        (&model, "already installed, made active again: "),
    ] {
        let out = run(&["model", "install", "--data-dir", d, p(file)]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with(said),
            "{out:?}"
        );
    }
    let damaged = dir.path().join("damaged.model");
    let mut bytes = std::fs::read(&model).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&damaged, bytes).unwrap();
    let out = run(&["model", "install", "--data-dir", d, p(&damaged)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("damaged"));
    let out = run(&["model", "versions", "--data-dir", d]);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.starts_with("* intent v1")),
        "{out:?}"
    );
    let out = run(&["model", "activate", "--data-dir", d, "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["model", "activate", "--data-dir", d, "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["model", "activate", "--data-dir", d, "9"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no version 9"));
    let out = run(&["model", "versions", "--data-dir", d]);
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(lines[0].starts_with("  intent v2"), "{listed}");
    assert!(lines[1].starts_with("* intent v1"), "{listed}");
}

#[test]
fn training_leaves_other_files_alone_and_names_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("intents.csv");
    std::fs::write(&data, intents_csv()).unwrap();
    let keep = dir.path().join("keep.tmp");
    std::fs::write(&keep, "precious").unwrap();
    let out = run(&[
        "model",
        "train",
        "--input",
        p(&data),
        "--label-column",
        "category",
        "--out",
        p(&dir.path().join("keep.bin")),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&keep).unwrap(), "precious");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".partial")), "{names:?}");

    // No kind or one no workspace installs, --out naming the input, --out in a missing folder: each
    // refused, naming what the person chose (not a temporary file of ours).
    for (args, status, says) in [
        (
            vec!["--kind", "", "--out", p(&dir.path().join("x.bin"))],
            2,
            "--kind must be intent, sentiment or purpose",
        ),
        (
            vec!["--kind", "weather", "--out", p(&dir.path().join("w.bin"))],
            2,
            "--kind must be intent, sentiment or purpose",
        ),
        (vec!["--out", p(&data)], 2, "is the input file"),
        (
            vec!["--out", "/nonexistent-folder/m.model"],
            1,
            "cannot write /nonexistent-folder/m.model: the folder /nonexistent-folder does not exist",
        ),
    ] {
        let mut all = vec![
            "model",
            "train",
            "--input",
            p(&data),
            "--label-column",
            "category",
        ];
        all.extend(args);
        let out = run(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(status), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
    assert!(
        std::fs::read_to_string(&data)
            .unwrap()
            .starts_with("text,category"),
        "the input is intact"
    );
    let out = run(&[
        "model",
        "activate",
        "--data-dir",
        p(dir.path()),
        "--kind",
        "weather",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown model kind"));
}

/// A line that is not UTF-8, or longer than the API takes, gets an error in its place; the
/// lines around it are analysed (also after a Windows line end), and the command fails naming
/// the lines.
#[test]
fn analyze_answers_every_line_and_names_the_one_it_cannot_read() {
    let mut input =
        b"my card was declined\r\nbad \xff\xfe bytes\n\nmail me at ann@example.com\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 70_000));
    input.extend(b"\nmy parcel has not arrived yet, where is it?");
    let out = run_with_input(&["analyze"], &input);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "2 lines of 6 could not be read (not UTF-8 text, or too long; the first: line 2)"
        ),
        "{stderr}"
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert_eq!(
        lines[4]["error"],
        "line 5 is longer than 65536 bytes (a text the API takes is at most that)"
    );
    assert_eq!(lines[5]["purpose"]["label"], "support", "{}", lines[5]);
    assert_eq!(lines[0]["purpose"]["label"], "support", "{}", lines[0]);
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(
        lines[1]["error"],
        "line 2 is not UTF-8 text (its byte 5 is not valid; bytes count from 1, as lines do)"
    );
    assert!(
        lines[2]["language"].is_null(),
        "an empty line: {}",
        lines[2]
    );
    assert_eq!(
        lines[3]["personal_data"][0]["kind"], "email",
        "{}",
        lines[3]
    );
    assert_eq!(lines[3]["personal_data"][0]["end"], 26);
}

/// A byte-order mark before the first line is not text: positions count from after it. The
/// only line unreadable says so; two sentiment models, or a shipped model of another kind as
/// one, are refused naming the options.
#[test]
fn analyze_reads_past_a_byte_order_mark_and_refuses_mixed_up_models() {
    let out = run_with_input(&["analyze"], "\u{feff}mail ann@example.com".as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["personal_data"][0]["start"], 5, "{line}");
    let out = run_with_input(&["analyze"], b"\xff\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 1, the only line, could not be read"),
        "{stderr}"
    );
    let out = run(&["analyze", "--sentiment-model", "builtin:purpose"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("builtin:purpose is the shipped purpose model, not a sentiment one"),
        "{stderr}"
    );
}

/// `model eval` with a file whose labels the model never predicts warns (every answer would
/// count wrong); `model calibrate --out` naming its input is refused, the input intact.
#[test]
fn eval_warns_on_foreign_labels_and_calibrate_keeps_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model, out) = train_fixture(dir.path());
    assert!(out.status.success(), "{out:?}");
    let out = run(&[
        "model",
        "eval",
        "--model",
        "builtin:purpose",
        "--input",
        p(&data),
        "--label-column",
        "category",
    ]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: none of the file's labels is one the model predicts"),
        "{stderr}"
    );
    let out = run(&[
        "model",
        "eval",
        "--model",
        p(&model),
        "--input",
        p(&data),
        "--label-column",
        "category",
    ]);
    assert!(out.stderr.is_empty(), "{out:?}");
    let before = std::fs::read(&data).unwrap();
    let out = run(&[
        "model",
        "calibrate",
        "--model",
        p(&model),
        "--input",
        p(&data),
        "--label-column",
        "category",
        "--out",
        p(&data),
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is the input file"),
        "{out:?}"
    );
    assert_eq!(std::fs::read(&data).unwrap(), before);
}

/// Examples labelled with an intent the model does not have (`oos`, questions about
/// something else) are out of its scope: `model eval` counts how many it leaves `unknown`,
/// as `analyze` answers them, and reports the in-scope ones apart.
#[test]
fn eval_reports_how_many_out_of_scope_questions_stay_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model, out) = train_fixture(dir.path());
    assert!(out.status.success(), "{out:?}");
    let outside = [
        "what is the weather in paris tomorrow",
        "tell me a joke about cats",
        "who won the football game last night",
        "how do I boil an egg",
    ];
    let inside = ["my card still has not arrived", "I want a refund please"];
    let mut csv = String::from("text,category\n");
    for t in outside {
        csv.push_str(&format!("{t},oos\n"));
    }
    csv.push_str(&format!(
        "{},card_arrival\n{},refund\n",
        inside[0], inside[1]
    ));
    let data = dir.path().join("with_oos.csv");
    std::fs::write(&data, csv).unwrap();
    let report = eval_intents(&model, &data);
    assert_eq!(report["labels_not_in_model"], json!(["oos"]), "{report}");
    assert_eq!(report["in_scope"]["examples"], 2, "{report}");
    assert_eq!(report["out_of_scope"]["examples"], 4, "{report}");
    // The same count `analyze` gives with the same model.
    let lines = outside.join("\n");
    let analyzed = run_with_input(&["analyze", "--model", p(&model)], lines.as_bytes());
    assert!(analyzed.status.success(), "{analyzed:?}");
    let unknown = String::from_utf8(analyzed.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["intent"]["label"] == "unknown")
        .count();
    assert_eq!(report["out_of_scope"]["unknown"], unknown, "{report}");
    let share = report["out_of_scope"]["unknown_share"].as_f64().unwrap();
    assert!((share - unknown as f64 / 4.0).abs() < 1e-9, "{report}");
    // Out-of-scope examples still count as wrong in the accuracy over all examples; the
    // in-scope accuracy is over the two in scope alone.
    let all = report["accuracy"].as_f64().unwrap();
    let in_scope = report["in_scope"]["accuracy"].as_f64().unwrap();
    assert!(all <= 2.0 / 6.0 + 1e-9, "{report}");
    assert!((in_scope - all * 6.0 / 2.0).abs() < 1e-9, "{report}");
    // The confusion's diagonal over the two in scope says the same.
    let confusion = &report["confusion"];
    let right = ["card_arrival", "refund"]
        .iter()
        .map(|l| confusion[l][l].as_f64().unwrap_or(0.0))
        .sum::<f64>();
    assert!((in_scope - right / 2.0).abs() < 1e-9, "{report}");
    // With none in scope, nothing was measured there: null, not 0.
    let only = dir.path().join("only_oos.csv");
    std::fs::write(&only, format!("text,category\n{},oos\n", outside[0])).unwrap();
    let report = eval_intents(&model, &only);
    assert_eq!(report["in_scope"]["examples"], 0, "{report}");
    assert!(report["in_scope"]["answered"].is_null(), "{report}");
    assert!(report["in_scope"]["accuracy"].is_null(), "{report}");
    assert!(report["macro_f1"].is_null(), "{report}");
    assert_eq!(report["out_of_scope"]["examples"], 1, "{report}");
}

/// `analyze --workspace` understands with the workspace's models in force, as the server
/// does: its installed intent model answers; without the flag there is no intent model.
#[test]
fn analyze_with_the_workspace_uses_its_installed_models() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model, out) = train_fixture(dir.path());
    assert!(out.status.success(), "{out:?}");
    let data = dir.path().join("ws");
    let d = p(&data);
    for args in [
        &["migrate", "--data-dir", d][..],
        &["model", "install", "--data-dir", d, p(&model)],
    ] {
        let out = run(args);
        assert!(out.status.success(), "{out:?}");
    }
    let intent_of = |args: &[&str]| {
        let out = run_with_input(args, b"my card still has not arrived\n");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["intent"].clone()
    };
    assert!(intent_of(&["analyze"]).is_null());
    let intent = intent_of(&["analyze", "--workspace", "--data-dir", d]);
    assert!(intent["label"].is_string(), "{intent}");
    // Naming the workspace is enough.
    assert_eq!(intent_of(&["analyze", "--data-dir", d]), intent);
    let missing = dir.path().join("nowhere");
    let out = run(&["analyze", "--workspace", "--data-dir", p(&missing)]);
    assert_ne!(out.status.code(), Some(0));
}

/// Output into a pipe whose reader has gone (`… | head`) ends the command quietly.
#[test]
fn a_closed_stdout_ends_a_command_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model, out) = train_fixture(dir.path());
    assert!(out.status.success());
    let mut child = Command::new(BIN)
        .args(["model", "eval", "--model", p(&model), "--input", p(&data)])
        .args(["--label-column", "category"])
        .env_remove("SWITCHBOARD_DATA_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader closes before the report is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn calibrate_writes_a_model_with_the_same_labels_and_refuses_too_few_examples() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model, out) = train_fixture(dir.path());
    assert!(out.status.success());
    let calibrated = dir.path().join("calibrated.model");
    let run_calibrate = |input: &Path, out: &Path| {
        run(&[
            "model",
            "calibrate",
            "--model",
            p(&model),
            "--input",
            p(input),
            "--label-column",
            "category",
            "--out",
            p(out),
        ])
    };
    // The examples it was trained on, all right with room to spare, show nothing about how
    // sure it should be: refused, nothing written.
    let out = run_calibrate(&data, &calibrated);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("right on 24 of these 24"), "{err}");
    assert!(!calibrated.exists());
    // Examples it has not seen, some of them hard, are what calibrating is for.
    let held_out = dir.path().join("held-out.csv");
    let mut csv = String::from("text,category\n");
    for i in 0..8 {
        csv.push_str(&format!("is the card on its way yet {i},card_arrival\n"));
        csv.push_str(&format!("I was charged twice so give it back {i},refund\n"));
        csv.push_str(&format!("what do I pay for euros {i},exchange_rate\n"));
    }
    csv.push_str("the card payment abroad in dollars,refund\n");
    csv.push_str("my money for the card never came,exchange_rate\n");
    std::fs::write(&held_out, csv).unwrap();
    let out = run_calibrate(&held_out, &calibrated);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &report["calibration"];
    assert_eq!(c["examples"], 26, "{report}");
    assert!(c["temperature_after"].as_f64().unwrap() > 0.0, "{report}");
    // A fit is kept only if it lowers the calibration error on these examples.
    assert_eq!(
        c["changed"] == true,
        c["temperature_after"] != c["temperature_before"],
        "{report}"
    );
    assert!(
        c["ece_after"].as_f64().unwrap() <= c["ece_before"].as_f64().unwrap() + 1e-6,
        "{report}"
    );
    // The calibrated model predicts the same labels.
    let text = "where is my card, it never came\nplease refund me\n".as_bytes();
    let labels = |m: &Path| {
        let out = run_with_input(&["analyze", "--model", p(m)], text);
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["intent"]["label"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(labels(&model), labels(&calibrated));

    // Labels the model does not know: refused by name, nothing written.
    let other = dir.path().join("other.csv");
    let mut csv = String::from("text,category\n");
    for i in 0..30 {
        csv.push_str(&format!("text {i},weather\n"));
    }
    std::fs::write(&other, csv).unwrap();
    let nothing = dir.path().join("nothing.model");
    let out = run_calibrate(&other, &nothing);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at least 20 examples"), "{err}");
    assert!(!nothing.exists());
}

/// `--hidden N` trains a network: the summary and the file say so, it scores the examples it
/// learned, `analyze` reads it, and a width out of range is a usage error with nothing written.
#[test]
fn a_network_is_trained_when_asked_and_its_width_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("intents.csv");
    std::fs::write(&data, intents_csv()).unwrap();
    let model = dir.path().join("net.model");
    let train = |hidden: &str, out: &Path| {
        run(&[
            "model",
            "train",
            "--input",
            p(&data),
            "--label-column",
            "category",
            "--out",
            p(out),
            "--hidden",
            hidden,
        ])
    };
    let out = train("32", &model);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["hidden"], 32, "{summary}");
    let bytes = std::fs::read(&model).unwrap();
    assert!(
        String::from_utf8_lossy(&bytes[..300]).contains("\"format\":2"),
        "a network's file is format 2"
    );
    let report = eval_intents(&model, &data);
    assert!(report["accuracy"].as_f64().unwrap() >= 0.9, "{report}");
    let analyzed = run_with_input(
        &["analyze", "--model", p(&model)],
        b"my card has not arrived yet\nhow do I get a refund\n",
    );
    assert!(
        analyzed.status.success(),
        "{}",
        String::from_utf8_lossy(&analyzed.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&analyzed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["intent"]["label"], "card_arrival", "{:?}", lines);
    assert_eq!(lines[1]["intent"]["label"], "refund", "{:?}", lines);

    // The default for 24 examples is a linear model.
    let linear = dir.path().join("linear.model");
    let out = run(&[
        "model",
        "train",
        "--input",
        p(&data),
        "--label-column",
        "category",
        "--out",
        p(&linear),
    ]);
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["hidden"], 0, "{summary}");

    for bad in ["5000", "wide", "1.5"] {
        let target = dir.path().join(format!("bad-{bad}.model"));
        let out = train(bad, &target);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains("--hidden"), "{bad}: {err}");
        assert!(!target.exists(), "{bad}: nothing written");
    }
}

/// Labelled messages with invented words only their examples explain.
fn feelings_csv(neutral: &str) -> String {
    let mut out = String::from("text,label\n");
    for i in 0..6 {
        out.push_str(&format!("the snorkwhistle was zibbly {i},positive\n"));
        out.push_str(&format!("the snorkwhistle was gronky {i},negative\n"));
        out.push_str(&format!("the snorkwhistle came on tuesday {i},{neutral}\n"));
    }
    out
}

#[test]
fn a_sentiment_model_is_trained_from_a_file_and_analyze_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("feelings.csv");
    std::fs::write(&data, feelings_csv("neutral")).unwrap();
    let model = dir.path().join("sentiment.model");
    let train = |extra: &[&str], input: &Path, out: &Path| {
        let mut args = vec![
            "model",
            "train",
            "--kind",
            "sentiment",
            "--input",
            p(input),
            "--out",
            p(out),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let out = train(&[], &data, &model);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The shipped posts are added, and the model stays linear.
    assert_eq!(summary["examples_from_file"], 18, "{summary}");
    assert!(summary["examples"].as_u64().unwrap() > 1000, "{summary}");
    assert_eq!(summary["hidden"], 0, "{summary}");
    // Its held-back accuracy is partly on the shipped posts, and says so.
    assert!(
        summary["holdout"]
            .as_str()
            .unwrap_or("")
            .contains("the shipped posts together"),
        "{summary}"
    );
    let alone = dir.path().join("alone.model");
    let out = train(&["--no-shipped-examples"], &data, &alone);
    assert!(out.status.success());
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["examples"], 18, "{summary}");
    // Too few to hold a tenth back: why there is no held-back accuracy.
    assert!(summary["holdout_accuracy"].is_null(), "{summary}");
    assert!(
        summary["holdout"]
            .as_str()
            .unwrap_or("")
            .starts_with("none held back"),
        "{summary}"
    );

    let texts = b"the snorkwhistle was zibbly\nthe snorkwhistle was gronky\n";
    let sentiments = |args: &[&str]| {
        let out = run_with_input(args, texts);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["sentiment"]["label"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        sentiments(&["analyze", "--sentiment-model", p(&model)]),
        ["positive", "negative"]
    );
    assert_ne!(sentiments(&["analyze"]), ["positive", "negative"]);
    // Given as `--model`, a sentiment model takes the sentiment's place, not the intent's.
    assert_eq!(
        sentiments(&["analyze", "--model", p(&model)]),
        ["positive", "negative"]
    );
    let out = run_with_input(&["analyze", "--model", p(&model)], texts);
    let first: Value =
        serde_json::from_slice(out.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert!(first["intent"].is_null(), "{first}");

    // Labels a sentiment model cannot have, a flag for another kind, and a model of another
    // kind are each refused by name, and nothing is written.
    let meh = dir.path().join("meh.csv");
    std::fs::write(&meh, feelings_csv("meh")).unwrap();
    let nothing = dir.path().join("nothing.model");
    let out = train(&[], &meh, &nothing);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("negative, neutral and positive") && err.contains("\"meh\""),
        "{err}"
    );
    let out = run(&[
        "model",
        "train",
        "--input",
        p(&data),
        "--out",
        p(&nothing),
        "--no-shipped-examples",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--kind sentiment"));
    assert!(!nothing.exists());
    let intents = dir.path().join("intents.csv");
    std::fs::write(&intents, intents_csv()).unwrap();
    let intent_model = dir.path().join("intent.model");
    assert!(
        run(&[
            "model",
            "train",
            "--input",
            p(&intents),
            "--label-column",
            "category",
            "--out",
            p(&intent_model),
        ])
        .status
        .success()
    );
    let out = run_with_input(&["analyze", "--sentiment-model", p(&intent_model)], texts);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not \"sentiment\""), "{err}");
    assert!(out.stdout.is_empty());

    // Into a workspace: checked as a sentiment model, listed, and deactivated (the shipped
    // model again).
    let data = dir.path().join("data");
    let d = p(&data);
    assert!(run(&["migrate", "--data-dir", d]).status.success());
    let install = |file: &Path| {
        run(&[
            "model",
            "install",
            "--data-dir",
            d,
            "--kind",
            "sentiment",
            p(file),
        ])
    };
    let out = install(&intent_model);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not \"sentiment\""));
    let out = install(&model);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = run(&["model", "versions", "--data-dir", d]);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(listed.starts_with("* sentiment v1"), "{listed}");
    let out = run(&[
        "model",
        "deactivate",
        "--data-dir",
        d,
        "--kind",
        "sentiment",
    ]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "sentiment: no version is active now"
    );
}

/// `--new-words-above`: out of range is a usage error; by default a question most of whose
/// words the model never learned is `unknown` (in `analyze` and in `eval`'s out-of-scope
/// count alike), and `1` turns that off.
#[test]
fn questions_of_mostly_new_words_are_unknown_unless_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("intents.csv");
    std::fs::write(&data, intents_csv()).unwrap();
    let train_with = |name: &str, options: &[&str]| {
        let model = dir.path().join(name);
        let mut args = vec![
            "model",
            "train",
            "--input",
            p(&data),
            "--label-column",
            "category",
        ];
        args.extend_from_slice(options);
        args.extend_from_slice(&["--out", p(&model)]);
        let out = run(&args);
        (model, out)
    };
    let train = |name: &str, share: &str| {
        train_with(name, &["--unknown-below", "0", "--new-words-above", share])
    };
    let (never, out) = train("never.model", "1.5");
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--new-words-above must be between 0 and 1")
    );
    assert!(!never.exists());
    // A negative number, or a floor of 1, gets the range's message (not clap's "unexpected
    // argument '-1'").
    for (option, value, said) in [
        (
            "--new-words-above",
            "-1",
            "--new-words-above must be between 0 and 1",
        ),
        (
            "--unknown-below",
            "-0.5",
            "--unknown-below must be at least 0 and below 1",
        ),
        (
            "--unknown-below",
            "1",
            "--unknown-below must be at least 0 and below 1",
        ),
    ] {
        let (_, out) = train_with("never.model", &[option, value]);
        assert_eq!(out.status.code(), Some(2), "{option} {value}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(said), "{option} {value}: {stderr}");
        assert!(!never.exists());
    }
    let (strict, out) = train("strict.model", "0.2");
    assert!(out.status.success(), "{out:?}");
    let said: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(said["new_words_above"], 0.2, "{said}");
    assert_eq!(said["unknown_below"], 0.0, "{said}");
    // Without the option, 24 examples are too few for the rule (from 1,000 it is 0.2).
    let plain = dir.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    let (_, plain_model, out) = train_fixture(&plain);
    assert!(out.status.success(), "{out:?}");
    let said: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(said["new_words_above"], Value::Null, "{said}");
    assert!(plain_model.exists());
    let (off, out) = train("off.model", "1");
    assert!(out.status.success(), "{out:?}");
    let question = "what parrot eats in the hotel";
    let intent_of = |model: &Path| -> Value {
        let out = run_with_input(
            &["analyze", "--model", p(model)],
            format!("{question}\n").as_bytes(),
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["intent"].clone()
    };
    let (strict_says, off_says) = (intent_of(&strict), intent_of(&off));
    assert_eq!(strict_says["label"], "unknown", "{strict_says}");
    assert_ne!(off_says["label"], "unknown", "{off_says}");
    assert_eq!(strict_says["confidence"], 0.0, "{strict_says}");
    // It says which rule, and what it leaned to.
    let why = &strict_says["unknown"];
    assert_eq!(why["reason"], "new_words", "{strict_says}");
    assert_eq!(why["words"], 6, "{strict_says}");
    assert_eq!(
        why["leaned_to"]["label"], off_says["label"],
        "{strict_says}"
    );
    assert_eq!(off_says.get("unknown"), None, "{off_says}");
    let oos = dir.path().join("oos.csv");
    std::fs::write(&oos, format!("text,category\n{question},oos\n")).unwrap();
    for (model, unknown) in [(&strict, 1), (&off, 0)] {
        let report = eval_intents(model, &oos);
        assert_eq!(report["out_of_scope"]["unknown"], unknown, "{report}");
        // Calibration's `answered` decides as the model does (it had the floor alone).
        let cal = &report["calibration"];
        assert_eq!(cal["answered"], f64::from(1 - unknown), "{report}");
        assert_eq!(cal["unknown_below"], 0.0, "{report}");
    }
    let cal = &eval_intents(&strict, &oos)["calibration"];
    assert_eq!(cal["new_words_above"], 0.2, "{cal}");
}
