//! The demo's traffic beyond webhooks: mail to the e-mail channel (spoken over SMTP to the
//! server's own listener, as a relay or MX would), visitors on the web chat (a WebSocket, as
//! the widget opens it), and customers who answer an answer: a thank-you, or "that did not
//! help" (which sends an automatically answered case back to a person). The e-mail channel's
//! replies leave through [`fake_relay`], an in-process SMTP server that takes every mail.

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The demo e-mail channel's mailbox.
pub const MAILBOX: &str = "help@lakeside.example";

/// The site the demo's chat widget is embedded on (the channel allows it).
pub const CHAT_ORIGIN: &str = "https://www.lakeside.example";

/// Replies customers send to an answer, by whether it helped.
pub const THANKS: &[&str] = &[
    "Thanks, that's what I needed!",
    "Perfect, thank you",
    "Great, thanks a lot",
    "thx!",
];
pub const NOT_HELPED: &[&str] = &[
    "That doesn't answer my question, can someone call me?",
    "No, that's not it. I need a person please.",
    "Still confused, this didn't help",
];

/// Starts an SMTP server on a free loopback port that accepts every mail and keeps none;
/// returns its `smtp://` URL.
pub async fn fake_relay() -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = relay_session(stream).await;
            });
        }
    });
    Ok(format!("smtp://{addr}"))
}

async fn relay_session(stream: TcpStream) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 relay.demo ESMTP\r\n").await?;
    let mut in_data = false;
    while let Some(line) = lines.next_line().await? {
        if in_data {
            if line == "." {
                in_data = false;
                write.write_all(b"250 2.0.0 taken\r\n").await?;
            }
            continue;
        }
        let verb = line.get(..4).unwrap_or(&line).to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" => b"250-relay.demo\r\n250 8BITMIME\r\n",
            "DATA" => {
                in_data = true;
                b"354 go on\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"250 OK\r\n",
        };
        write.write_all(answer).await?;
    }
    Ok(())
}

/// A free loopback address for the server's SMTP listener.
pub fn free_smtp_address() -> anyhow::Result<String> {
    let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(probe.local_addr()?.to_string())
}

/// Mails `text` from person `who` to the demo mailbox through the server's SMTP listener at
/// `smtp` (`host:port`). `n` makes the Message-ID unique; `re` answers an earlier mail.
pub async fn mail(
    smtp: &str,
    who: u64,
    name: &str,
    text: &str,
    n: u64,
    re: Option<u64>,
) -> anyhow::Result<()> {
    let from = format!("{}.{who}@example.net", name.to_lowercase());
    let subject = text.chars().take(60).collect::<String>();
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .context("date")?;
    let threading = match re {
        Some(earlier) => format!(
            "In-Reply-To: <demo-{earlier}@example.net>\r\nReferences: <demo-{earlier}@example.net>\r\n"
        ),
        None => String::new(),
    };
    let subject = if re.is_some() {
        "Re: your answer".to_owned()
    } else {
        subject
    };
    let message = format!(
        "From: {name} <{from}>\r\nTo: Lakeside College <{MAILBOX}>\r\nSubject: {subject}\r\n\
         Date: {date}\r\nMessage-ID: <demo-{n}@example.net>\r\n{threading}\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    );
    let stream = TcpStream::connect(smtp).await?;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut expect = async |code: &str| -> anyhow::Result<()> {
        loop {
            let line = lines.next_line().await?.context("the listener hung up")?;
            if line.as_bytes().get(3) == Some(&b'-') {
                continue;
            }
            anyhow::ensure!(line.starts_with(code), "SMTP said {line:?}");
            return Ok(());
        }
    };
    expect("220").await?;
    for (command, code) in [
        ("EHLO demo.example.net".to_owned(), "250"),
        (format!("MAIL FROM:<{from}>"), "250"),
        (format!("RCPT TO:<{MAILBOX}>"), "250"),
        ("DATA".to_owned(), "354"),
    ] {
        write.write_all(format!("{command}\r\n").as_bytes()).await?;
        expect(code).await?;
    }
    // Dot-stuffed, as RFC 5321 asks.
    let body = message.replace("\r\n.", "\r\n..");
    write.write_all(body.as_bytes()).await?;
    write.write_all(b".\r\n").await?;
    expect("250").await?;
    write.write_all(b"QUIT\r\n").await?;
    Ok(())
}

/// A visitor on the web chat: says hello with their name, asks `text`, stays a minute (an
/// agent's answer reaches them live) and says `follow_up` half-way if given.
pub async fn chat_visitor(
    base: &str,
    channel: &str,
    name: &str,
    text: &str,
    follow_up: Option<&str>,
) -> anyhow::Result<()> {
    let ws = format!(
        "{}/chat/{channel}",
        base.replacen("http://", "ws://", 1)
            .replacen("https://", "wss://", 1)
    );
    let mut req = ws.into_client_request()?;
    req.headers_mut().insert("origin", CHAT_ORIGIN.parse()?);
    let (socket, _) = tokio_tungstenite::connect_async(req).await?;
    let (mut tx, mut rx) = socket.split();
    // Whatever the server says (welcome, acks, the agent's answers) is read and dropped.
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
    let frame = |n: u32, text: &str| {
        let id = format!("demo-{}-{n}", uuid::Uuid::now_v7().simple());
        Frame::Text(
            serde_json::json!({"type": "message", "client_id": id, "text": text})
                .to_string()
                .into(),
        )
    };
    let hello = serde_json::json!({"type": "hello", "name": name});
    tx.send(Frame::Text(hello.to_string().into())).await?;
    tx.send(frame(1, text)).await?;
    tokio::time::sleep(Duration::from_secs(30)).await;
    if let Some(f) = follow_up {
        tx.send(frame(2, f)).await?;
    }
    tokio::time::sleep(Duration::from_secs(30)).await;
    let _ = tx.close().await;
    reader.abort();
    Ok(())
}
