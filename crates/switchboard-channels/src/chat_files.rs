//! Which files a web chat visitor may send, without I/O: a short list of types, each proven by
//! the file's first bytes (a declared `image/png` that is really a script is refused), a size
//! limit, and a file name made safe to show and to offer for download.

/// The types a visitor may upload. Not SVG or HTML: both can carry scripts.
pub const ALLOWED: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
];

/// The most files one message carries.
pub const MAX_PER_MESSAGE: usize = 5;

/// Why an upload is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileRefusal {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than the chat's limit of {0} bytes")]
    TooLarge(usize),
    #[error(
        "{0} files are not accepted here; send an image (PNG, JPEG, GIF, WebP), a PDF or plain text"
    )]
    Type(String),
    #[error("the file's content is not {0}")]
    Mismatch(String),
}

/// The type the bytes really are, among [`ALLOWED`] (plain text: UTF-8 without control
/// characters other than tab and line breaks).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if starts(b"%PDF-") {
        Some("application/pdf")
    } else if std::str::from_utf8(bytes).is_ok_and(|t| {
        !t.chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    }) {
        Some("text/plain")
    } else {
        None
    }
}

/// Checks an upload: `declared` is the browser's `Content-Type` (parameters ignored). Returns
/// the type to store.
pub fn check(declared: &str, bytes: &[u8], max_bytes: usize) -> Result<&'static str, FileRefusal> {
    if bytes.is_empty() {
        return Err(FileRefusal::Empty);
    }
    if bytes.len() > max_bytes {
        return Err(FileRefusal::TooLarge(max_bytes));
    }
    let declared = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let Some(allowed) = ALLOWED.iter().find(|t| **t == declared) else {
        let shown = if declared.is_empty() {
            "untyped".to_owned()
        } else {
            declared.chars().take(80).collect()
        };
        return Err(FileRefusal::Type(shown));
    };
    match sniff(bytes) {
        Some(real) if real == *allowed => Ok(real),
        _ => Err(FileRefusal::Mismatch((*allowed).to_owned())),
    }
}

/// A file name safe to store and show: the last path component, without control characters,
/// quotes or slashes, at most 120 characters; `file` when nothing is left.
pub fn safe_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | '\u{202e}'))
        .take(120)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn declared_types_must_be_allowed_and_true() {
        assert_eq!(check("image/png", PNG, 100), Ok("image/png"));
        assert_eq!(check("IMAGE/PNG; name=x", PNG, 100), Ok("image/png"));
        assert_eq!(
            check("application/pdf", b"%PDF-1.7\n", 100),
            Ok("application/pdf")
        );
        assert_eq!(
            check("text/plain", "héllo\n\tworld".as_bytes(), 100),
            Ok("text/plain")
        );
        assert_eq!(check("image/gif", b"GIF89a....", 100), Ok("image/gif"));
        assert_eq!(
            check("image/webp", b"RIFF\0\0\0\0WEBPVP8 ", 100),
            Ok("image/webp")
        );
        assert_eq!(
            check("image/jpeg", b"\xff\xd8\xff\xe0", 100),
            Ok("image/jpeg")
        );
        // A script dressed as a picture, HTML as text, SVG, executables.
        assert_eq!(
            check("image/png", b"<script>alert(1)</script>", 100),
            Err(FileRefusal::Mismatch("image/png".into()))
        );
        assert_eq!(
            check("text/plain", b"MZ\x90\0\x03\0", 100),
            Err(FileRefusal::Mismatch("text/plain".into()))
        );
        assert_eq!(
            check("image/svg+xml", b"<svg/>", 100),
            Err(FileRefusal::Type("image/svg+xml".into()))
        );
        assert_eq!(
            check("", b"x", 100),
            Err(FileRefusal::Type("untyped".into()))
        );
        assert_eq!(check("text/plain", b"", 100), Err(FileRefusal::Empty));
        assert_eq!(check("image/png", PNG, 4), Err(FileRefusal::TooLarge(4)));
    }

    #[test]
    fn names_lose_paths_and_tricks() {
        assert_eq!(safe_name("invoice.pdf"), "invoice.pdf");
        assert_eq!(safe_name("C:\\Users\\ada\\photo.png"), "photo.png");
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("..."), "file");
        assert_eq!(safe_name(""), "file");
        assert_eq!(safe_name("a\"b<c>\r\n.txt"), "abc.txt");
        assert_eq!(safe_name("evil\u{202e}fdp.exe"), "evilfdp.exe");
        assert_eq!(safe_name(&"x".repeat(500)).chars().count(), 120);
    }
}
