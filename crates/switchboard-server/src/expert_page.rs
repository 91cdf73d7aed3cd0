//! The page an outside expert sees: the question, the conversation, and one form. Plain
//! HTML written here, every value escaped, no script.

use switchboard_store::ExpertView;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1d2430}\
h1{font-size:1.4rem}.q{background:#fff7e0;border-left:4px solid #e0a800;padding:.75rem 1rem}\
ol{list-style:none;padding:0}li{margin:.5rem 0;padding:.5rem .75rem;border-radius:.5rem}\
li.customer{background:#eef2f7}li.agent{background:#e6f4ea;margin-left:2rem}\
small{color:#5a6473}textarea{width:100%;min-height:9rem;font:inherit}\
.err{color:#a4000f;font-weight:600}button{font:inherit;padding:.4rem 1.2rem}";

fn shell(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    )
}

/// A page with one sentence (thanks, or why the link does not work).
pub fn message(text: &str) -> String {
    shell(
        "Switchboard",
        &format!("<main><h1>Switchboard</h1><p>{}</p></main>", escape(text)),
    )
}

/// The case and the answer form; `error` is shown above the form.
pub fn render(v: &ExpertView, error: Option<&str>) -> String {
    let mut items = String::new();
    for m in &v.messages {
        let from = m["from"].as_str().unwrap_or("customer");
        let who = if from == "agent" {
            "Our team"
        } else {
            "Customer"
        };
        items.push_str(&format!(
            "<li class=\"{}\"><small>{} · {}</small><br>{}</li>",
            escape(from),
            who,
            escape(&readable(m["at"].as_str().unwrap_or_default())),
            // Card and id numbers are hidden in the view (`Store::expert_view`).
            escape(m["text"].as_str().unwrap_or_default()).replace('\n', "<br>")
        ));
    }
    let hello = v
        .link
        .name
        .as_deref()
        .map_or("Hello,".to_owned(), |n| format!("Hello {},", escape(n)));
    let error = error.map_or(String::new(), |e| {
        format!("<p class=\"err\" role=\"alert\">{}</p>", escape(e))
    });
    let body = format!(
        "<main><h1>A customer case needs your help</h1><p>{hello} a colleague asks:</p>\
         <p class=\"q\">{question}</p>\
         <h2>The conversation <small>({kind}, {visibility})</small></h2><ol>{items}</ol>\
         <h2>Your answer</h2>{error}<form method=\"post\">\
         <label for=\"text\">Answer</label><textarea id=\"text\" name=\"text\" required maxlength=\"20000\"></textarea>\
         <fieldset><legend>This answer is</legend>\
         <label><input type=\"radio\" name=\"kind\" value=\"note\" checked> for the team only (internal)</label><br>\
         <label><input type=\"radio\" name=\"kind\" value=\"reply\"> a reply the team may send to the customer</label>\
         </fieldset><p><button type=\"submit\">Send the answer</button></p></form>\
         <p><small>This link works once, for this case only, until {expires}.</small></p></main>",
        question = escape(&v.link.question).replace('\n', "<br>"),
        kind = escape(&v.channel_kind),
        visibility = if v.public { "public" } else { "private" },
        expires = escape(&readable(&v.link.expires_at.to_rfc3339())),
    );
    shell("A case needs your help", &body)
}

/// An RFC 3339 UTC time as a person reads it: `2026-12-07T01:39:43.52Z` → `2026-12-07 01:39
/// UTC` (anything else as it is).
fn readable(rfc3339: &str) -> String {
    let b = rfc3339.as_bytes();
    let utc = rfc3339.ends_with('Z') || rfc3339.ends_with("+00:00");
    if utc && b.len() >= 16 && b[10] == b'T' && rfc3339.is_char_boundary(16) {
        format!("{} {} UTC", &rfc3339[..10], &rfc3339[11..16])
    } else {
        rfc3339.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_a_person_writes_them() {
        assert_eq!(
            readable("2026-12-07T01:39:43.523764Z"),
            "2026-12-07 01:39 UTC"
        );
        assert_eq!(
            readable("2026-12-07T01:39:43+00:00"),
            "2026-12-07 01:39 UTC"
        );
        assert_eq!(readable("yesterday"), "yesterday");
        assert_eq!(
            readable("2026-12-07T01:39:43+02:00"),
            "2026-12-07T01:39:43+02:00"
        );
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}
