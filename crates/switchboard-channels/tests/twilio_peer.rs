//! An independent peer for Twilio's webhook signatures: PyPI `twilio`'s `RequestValidator`
//! (the official helper library, which works offline) signs each case, our `verify` must
//! accept it and refuse it once one byte of the body changes; and the library must accept
//! what our `sign` produces. Skips when `python3` or the `twilio` package is missing
//! (`pip install twilio`).

use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};
use switchboard_channels::SignatureError;
use switchboard_channels::twilio::{sign, verify};

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// Reads the cases as JSON on stdin; for each, prints the library's signature for the URL it
/// signs (with `bodySHA256` added for JSON bodies) and whether it validates our signature.
const PEER: &str = r#"
import json, sys
from urllib.parse import parse_qs
from twilio.request_validator import RequestValidator

class MultiDict(dict):
    # What Django's QueryDict offers the validator: every value of a repeated key.
    def getlist(self, key):
        return self[key]

out = []
for case in json.load(sys.stdin):
    v = RequestValidator(case["token"])
    if case["kind"] == "json":
        body_hash = v.compute_hash(case["body"])
        sep = "&" if "?" in case["url"] else "?"
        url = case["url"] + sep + "bodySHA256=" + body_hash
        signature = v.compute_signature(url, {})
        accepts_ours = v.validate(url, case["body"], case["ours"]) if case["ours"] else None
    else:
        url = case["url"]
        params = MultiDict(parse_qs(case["body"], keep_blank_values=True))
        signature = v.compute_signature(url, params)
        accepts_ours = v.validate(case.get("validate_url", url), params, case["ours"])
    out.append({"url": url, "signature": signature, "accepts_ours": accepts_ours})
print(json.dumps(out))
"#;

struct Case {
    name: &'static str,
    token: &'static str,
    /// The URL Twilio signs.
    url: &'static str,
    /// The URL our side is configured with, when it differs (ports).
    configured: Option<&'static str>,
    kind: &'static str,
    body: String,
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "official vector",
            token: "12345",
            url: "https://mycompany.com/myapp.php?foo=1&bar=2",
            configured: None,
            kind: "form",
            body: form(&[
                ("CallSid", "CA1234567890ABCDE"),
                ("Digits", "1234"),
                ("From", "+14158675309"),
                ("To", "+18005551212"),
                ("Caller", "+14158675309"),
            ]),
        },
        Case {
            name: "repeated keys, unicode and empty values",
            token: "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
            url: "https://hooks.example.com/twilio/7?channel=sms&x=%C3%BC",
            configured: None,
            kind: "form",
            body: form(&[
                ("MessageSid", "SM1bd5330f81336e8b54c2d3d9fc1bcb6a"),
                ("Body", "Grüße 👋 — ça va? 1+1=2 & 100%"),
                ("MediaUrl", "https://api.twilio.com/b"),
                ("ToState", ""),
                ("MediaUrl", "https://api.twilio.com/a"),
                ("From", "+491710000000"),
                ("MediaUrl", "https://api.twilio.com/C"),
                ("Zeta", "日本語"),
            ]),
        },
        Case {
            name: "a URL with a non-default port",
            token: "12345",
            url: "https://hooks.example.com:8443/twilio?x=1",
            configured: None,
            kind: "form",
            body: form(&[("MessageSid", "SM1"), ("Body", "port")]),
        },
        Case {
            name: "signed with :443, configured without",
            token: "12345",
            url: "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            configured: Some("https://mycompany.com/myapp.php?foo=1&bar=2"),
            kind: "form",
            body: form(&[("MessageSid", "SM2"), ("Body", "default port")]),
        },
        Case {
            name: "signed without the port, configured with :443",
            token: "12345",
            url: "https://mycompany.com/myapp.php",
            configured: Some("https://mycompany.com:443/myapp.php"),
            kind: "form",
            body: form(&[("MessageSid", "SM3"), ("Body", "no port")]),
        },
        Case {
            name: "official JSON body with bodySHA256",
            token: "12345",
            url: "https://mycompany.com/myapp.php?foo=1&bar=2",
            configured: None,
            kind: "json",
            body: r#"{"property": "value", "boolean": true}"#.to_owned(),
        },
        Case {
            name: "JSON body with unicode, URL without query",
            token: "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
            url: "https://hooks.example.com/twilio/json",
            configured: None,
            kind: "json",
            body: r#"{"Body":"Grüße 👋","MessageSid":"SM9"}"#.to_owned(),
        },
    ]
}

fn peer_available() -> bool {
    Command::new("python3")
        .args(["-c", "import twilio.request_validator"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run_peer(input: &Value) -> Result<Vec<Value>, String> {
    let mut child = Command::new("python3")
        .args(["-c", PEER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("python3 does not start: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(input.to_string().as_bytes())
        .map_err(|e| format!("writing the cases: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("python3 did not finish: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the peer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("the peer's output: {e}"))
}

fn one_byte_changed(body: &str) -> Vec<u8> {
    let mut bad = body.as_bytes().to_vec();
    // A byte inside the first value (after the first `=`, or the JSON's first letter).
    let at = bad
        .iter()
        .position(|b| *b == b'=' || *b == b'"')
        .map_or(0, |i| i + 1)
        .min(bad.len() - 1);
    bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
    bad
}

#[test]
fn pypi_twilio_request_validator_agrees() {
    if !peer_available() {
        println!("skipped: PyPI twilio is not installed (pip install twilio)");
        return;
    }
    let cases = cases();
    // Our signatures, for the peer to validate (form cases: over the URL Twilio signs).
    let input: Vec<Value> = cases
        .iter()
        .map(|c| {
            let ours = if c.kind == "form" {
                let params: Vec<(String, String)> = form_urlencoded::parse(c.body.as_bytes())
                    .into_owned()
                    .collect();
                Some(sign(c.token.as_bytes(), c.url, &params))
            } else {
                None
            };
            json!({"token": c.token, "url": c.url, "kind": c.kind, "body": c.body,
                   "ours": ours, "validate_url": c.configured.unwrap_or(c.url)})
        })
        .collect();
    let answers = run_peer(&Value::Array(input)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answers.len(), cases.len());
    for (case, answer) in cases.iter().zip(&answers) {
        let signature = answer["signature"].as_str().expect("signature");
        let signed_url = answer["url"].as_str().expect("url");
        let (url, content_type) = match case.kind {
            // JSON: the configured URL is the one with bodySHA256, as Twilio calls it.
            "json" => (signed_url.to_owned(), JSON),
            _ => (case.configured.unwrap_or(case.url).to_owned(), FORM),
        };
        assert_eq!(
            verify(
                case.token.as_bytes(),
                &url,
                Some(content_type),
                case.body.as_bytes(),
                Some(signature)
            ),
            Ok(()),
            "{}: the library's signature {signature} over {signed_url}",
            case.name
        );
        assert_eq!(
            verify(
                case.token.as_bytes(),
                &url,
                Some(content_type),
                &one_byte_changed(&case.body),
                Some(signature)
            ),
            Err(SignatureError::Mismatch),
            "{}: one changed byte",
            case.name
        );
        if case.kind == "form" {
            assert_eq!(
                answer["accepts_ours"],
                Value::Bool(true),
                "{}: the library refuses our signature",
                case.name
            );
            // Our `sign` matches the library byte for byte over the same URL.
            let params: Vec<(String, String)> = form_urlencoded::parse(case.body.as_bytes())
                .into_owned()
                .collect();
            assert_eq!(
                sign(case.token.as_bytes(), case.url, &params),
                signature,
                "{}",
                case.name
            );
        } else {
            assert_eq!(
                sign(case.token.as_bytes(), signed_url, &[]),
                signature,
                "{}",
                case.name
            );
        }
    }
}
