//! The SMTP listener: mail for an e-mail channel's address (or its `reply+…` addresses),
//! relayed or delivered straight to Switchboard (an MX or a relay pointed at it). Each mail is
//! stored as a raw event of every channel it is for, durably, before `250` is answered; it is
//! then processed like any other channel's event.
//!
//! The dialogue is RFC 5321's minimum for a receiving server: `EHLO`/`HELO`, `MAIL FROM`
//! (with `SIZE=`), `RCPT TO` (refused with `550 5.1.1` for addresses no channel receives),
//! `DATA` (dot-unstuffed, at most [`MAX_MESSAGE`] bytes: `552` beyond), `RSET`, `NOOP`,
//! `QUIT`. No AUTH and no STARTTLS: run it on a private network behind the relay that faces
//! the internet. Every answer is counted (`switchboard_webhook_requests_total{kind="email"}`).

use crate::AppState;
use crate::metrics::global;
use std::time::Duration;
use switchboard_channels::email;
use switchboard_core::{ChannelId, RawEventId};
use switchboard_store::{Appended, RawEvent};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The largest mail accepted, in bytes (attachments included, as encoded).
pub const MAX_MESSAGE: usize = 25 * 1024 * 1024;
/// The most recipients of one mail.
const MAX_RECIPIENTS: usize = 100;
/// The longest command line (RFC 5321 says 512; some clients send more).
const MAX_LINE: usize = 4096;
/// A client silent for this long is disconnected.
const IDLE: Duration = Duration::from_secs(300);

/// Accepts connections until the server shuts down.
pub async fn serve(listener: TcpListener, state: AppState) {
    let mut shutdown = state.shutdown.subscribe();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let state = state.clone();
                    tokio::spawn(async move {
                        if let Err(e) = session(stream, state).await {
                            tracing::debug!(error = %e, "SMTP session ended");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "SMTP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// The e-mail channels that receive mail for `rcpt`.
async fn channels_for(state: &AppState, rcpt: &str) -> Result<Vec<ChannelId>, ()> {
    let all = state.store.list_channels().await.map_err(|_| ())?;
    Ok(all
        .into_iter()
        .filter(|c| c.kind == "email" && c.active)
        .filter(|c| email::Config::from_json(&c.config).is_ok_and(|cfg| cfg.receives(rcpt)))
        .map(|c| c.id)
        .collect())
}

/// The address inside `<…>` after a `MAIL FROM:` or `RCPT TO:`, and what follows it.
fn path_arg(rest: &str) -> Option<(String, &str)> {
    let rest = rest.trim_start();
    let open = rest.find('<')?;
    let close = rest[open..].find('>')? + open;
    Some((rest[open + 1..close].trim().to_owned(), &rest[close + 1..]))
}

async fn read_line(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<usize>> {
    buf.clear();
    let n = tokio::time::timeout(
        IDLE,
        (&mut *r).take(MAX_LINE as u64 + 2).read_until(b'\n', buf),
    )
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
    Ok((n > 0).then_some(n))
}

use tokio::io::AsyncReadExt;

async fn session(stream: TcpStream, state: AppState) -> std::io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let reply = |code: &str| format!("{code}\r\n");
    w.write_all(reply("220 switchboard ESMTP ready").as_bytes())
        .await?;
    let mut from: Option<String> = None;
    let mut channels: Vec<ChannelId> = Vec::new();
    let mut rcpts = 0usize;
    let mut line = Vec::with_capacity(256);
    loop {
        let Some(n) = read_line(&mut r, &mut line).await? else {
            return Ok(());
        };
        if n > MAX_LINE || !line.ends_with(b"\n") {
            w.write_all(reply("500 5.5.2 line too long").as_bytes())
                .await?;
            global().webhook("email", "bad_request");
            continue;
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_owned();
        let (verb, rest) = match text.split_once(' ') {
            Some((v, r)) => (v.to_ascii_uppercase(), r.to_owned()),
            None => (text.to_ascii_uppercase(), String::new()),
        };
        let answer = match verb.as_str() {
            "EHLO" => format!(
                "250-switchboard\r\n250-SIZE {MAX_MESSAGE}\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES"
            ),
            "HELO" => "250 switchboard".into(),
            "NOOP" => "250 2.0.0 OK".into(),
            "RSET" => {
                (from, rcpts) = (None, 0);
                channels.clear();
                "250 2.0.0 OK".into()
            }
            "QUIT" => {
                w.write_all(reply("221 2.0.0 bye").as_bytes()).await?;
                return Ok(());
            }
            "VRFY" => "252 2.5.2 cannot verify, but will accept mail for known mailboxes".into(),
            "MAIL" => match rest
                .get(..5)
                .filter(|p| p.eq_ignore_ascii_case("FROM:"))
                .and_then(|_| path_arg(&rest[5..]))
            {
                _ if from.is_some() => "503 5.5.1 MAIL already given; RSET first".into(),
                None => "501 5.5.4 syntax: MAIL FROM:<address>".into(),
                Some((addr, params)) => {
                    let size = params.split_whitespace().find_map(|p| {
                        p.get(..5)
                            .filter(|k| k.eq_ignore_ascii_case("SIZE="))
                            .and_then(|_| p[5..].parse::<usize>().ok())
                    });
                    if size.is_some_and(|s| s > MAX_MESSAGE) {
                        global().webhook("email", "too_large");
                        format!("552 5.3.4 message larger than {MAX_MESSAGE} bytes")
                    } else {
                        from = Some(addr);
                        "250 2.1.0 OK".into()
                    }
                }
            },
            "RCPT" => match rest
                .get(..3)
                .filter(|p| p.eq_ignore_ascii_case("TO:"))
                .and_then(|_| path_arg(&rest[3..]))
            {
                _ if from.is_none() => "503 5.5.1 MAIL first".into(),
                None => "501 5.5.4 syntax: RCPT TO:<address>".into(),
                Some(_) if rcpts >= MAX_RECIPIENTS => "452 4.5.3 too many recipients".into(),
                Some((addr, _)) => match channels_for(&state, &addr).await {
                    Err(()) => "451 4.3.0 mailbox lookup failed; try again later".into(),
                    Ok(found) if found.is_empty() => {
                        global().webhook("email", "unknown_channel");
                        format!("550 5.1.1 <{addr}>: no mailbox here")
                    }
                    Ok(found) => {
                        rcpts += 1;
                        for id in found {
                            if !channels.contains(&id) {
                                channels.push(id);
                            }
                        }
                        "250 2.1.5 OK".into()
                    }
                },
            },
            "DATA" if channels.is_empty() => "503 5.5.1 no valid recipients".into(),
            "DATA" => {
                w.write_all(reply("354 end with <CRLF>.<CRLF>").as_bytes())
                    .await?;
                let (body, too_big) = read_data(&mut r).await?;
                let answer = if too_big {
                    global().webhook("email", "too_large");
                    format!("552 5.3.4 message larger than {MAX_MESSAGE} bytes")
                } else {
                    store(&state, &channels, body).await
                };
                (from, rcpts) = (None, 0);
                channels.clear();
                answer
            }
            "" => "500 5.5.2 empty command".into(),
            _ => "502 5.5.1 command not implemented".into(),
        };
        w.write_all(reply(&answer).as_bytes()).await?;
    }
}

/// Reads the mail after `DATA` up to the lone dot, undoing dot-stuffing; past
/// [`MAX_MESSAGE`] it keeps reading (to stay in step with the client) but keeps nothing.
async fn read_data(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<(Vec<u8>, bool)> {
    let mut body = Vec::new();
    let mut too_big = false;
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        let n = tokio::time::timeout(IDLE, r.read_until(b'\n', &mut line))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the client left during DATA",
            ));
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok((body, too_big));
        }
        let content = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        if body.len() + content.len() > MAX_MESSAGE {
            too_big = true;
            body.clear();
        }
        if !too_big {
            body.extend_from_slice(content);
        }
    }
}

/// Stores the mail for each channel; `250` only once every copy is durable.
async fn store(state: &AppState, channels: &[ChannelId], body: Vec<u8>) -> String {
    // A mail Switchboard could never read is refused now, while the sender can still be told.
    if let Err(e) = switchboard_email::parse(&body) {
        global().webhook("email", "bad_request");
        return format!("550 5.6.0 message refused: {e}");
    }
    let key = email::dedupe_key(&body);
    let mut last = None;
    for &channel in channels {
        let now = state.clock.now();
        let raw = RawEvent {
            id: RawEventId::new_at(now),
            channel_id: channel,
            external_id: key.clone(),
            body: body.clone(),
            received_at: now,
        };
        match state.store.append_raw(raw.clone()).await {
            Ok(Appended::Stored) => {
                state.ingest.publish(raw.clone());
                global().webhook("email", "accepted");
                last = Some(raw.id);
            }
            Ok(Appended::Duplicate) => global().webhook("email", "duplicate"),
            Err(e) => {
                tracing::error!(error = %e, "cannot store a received mail");
                global().webhook("email", "error");
                return "451 4.3.0 cannot store the message now; try again later".into();
            }
        }
    }
    match last {
        Some(id) => format!("250 2.0.0 OK queued as {id}"),
        None => "250 2.0.0 OK (already received)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_from_angle_brackets() {
        assert_eq!(
            path_arg("<ann@example.com> SIZE=1200"),
            Some(("ann@example.com".into(), " SIZE=1200"))
        );
        assert_eq!(path_arg(" <> "), Some((String::new(), " ")));
        assert_eq!(path_arg("ann@example.com"), None);
    }
}
