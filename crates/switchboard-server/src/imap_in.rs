//! Fetching e-mail channels' mail over IMAP: one worker per channel with `config.imap`, which
//! logs in, selects the mailbox, stores every message after the last UID it stored, then
//! waits with IDLE (or polls, for servers without it) and fetches again when mail arrives.
//!
//! Nothing is fetched twice or missed: the cursor (mailbox, UIDVALIDITY, last UID) is stored
//! after each message, and only once that message is durable; a changed UIDVALIDITY (the
//! mailbox was recreated, its UIDs renumbered) reads the mailbox again from its first message,
//! and each mail's `Message-ID` keeps what was already stored from being stored twice.
//! Messages are only read (`BODY.PEEK[]`): the mailbox is left as it was. A worker that loses
//! its connection tries again with growing pauses (1 s to 1 min); the supervisor restarts
//! workers whose settings change and stops those of removed or disabled channels.

use crate::AppState;
use crate::metrics::global;
use futures_util::TryStreamExt;
use std::collections::HashMap;
use std::time::Duration;
use switchboard_channels::adapter::Adapter;
use switchboard_channels::email::{self, Imap};
use switchboard_core::{ChannelId, RawEventId};
use switchboard_store::{Appended, RawEvent};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;

/// How often the supervisor looks for new, changed or removed channels.
const SUPERVISE_EVERY: Duration = Duration::from_secs(5);
/// The longest IDLE before it is renewed (RFC 2177: under 29 minutes).
const IDLE_FOR: Duration = Duration::from_secs(25 * 60);
/// Messages fetched per command.
const CHUNK: usize = 50;
/// The longest a connect, login or command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

type Failure = String;

/// Keeps one worker running per e-mail channel with IMAP settings.
pub async fn run(state: AppState) {
    let mut workers: HashMap<ChannelId, (String, JoinHandle<()>)> = HashMap::new();
    let mut shutdown = state.shutdown.subscribe();
    loop {
        let mut wanted: HashMap<ChannelId, (String, Imap, String)> = HashMap::new();
        if let Ok(list) = state.store.list_channels().await {
            for c in list.into_iter().filter(|c| c.kind == "email" && c.active) {
                let Ok(Some(live)) = state.channels.get(c.id).await else {
                    continue;
                };
                if let Adapter::Email(cfg, creds) = &*live.adapter
                    && let (Some(imap), Some(password)) = (&cfg.imap, &creds.imap_password)
                {
                    let signature = format!("{imap:?}/{:x}", fingerprint(password));
                    wanted.insert(c.id, (signature, imap.clone(), password.clone()));
                }
            }
        }
        workers.retain(|id, (signature, handle)| {
            let keep =
                wanted.get(id).is_some_and(|(s, ..)| s == signature) && !handle.is_finished();
            if !keep {
                handle.abort();
            }
            keep
        });
        for (id, (signature, imap, password)) in wanted {
            workers.entry(id).or_insert_with(|| {
                let handle = tokio::spawn(worker(state.clone(), id, imap, password));
                (signature, handle)
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(SUPERVISE_EVERY) => {}
            _ = shutdown.changed() => {
                for (_, (_, h)) in workers.drain() {
                    h.abort();
                }
                return;
            }
        }
    }
}

/// A fingerprint of the password, so a changed one restarts the worker without the password
/// itself being kept in the supervisor's map key.
fn fingerprint(secret: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    secret.hash(&mut h);
    h.finish()
}

async fn worker(state: AppState, channel: ChannelId, imap: Imap, password: String) {
    let mut pause = Duration::from_secs(1);
    loop {
        let started = std::time::Instant::now();
        let result = connect_and_run(&state, channel, &imap, &password).await;
        if let Err(e) = result {
            global().webhook("imap", "error");
            tracing::warn!(%channel, host = %imap.host, error = %e, "IMAP fetch stopped; trying again");
        }
        if started.elapsed() > Duration::from_secs(60) {
            pause = Duration::from_secs(1);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(60));
    }
}

async fn timed<T, E: std::fmt::Display>(
    what: &str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(COMMAND_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: no answer within {COMMAND_TIMEOUT:?}")),
    }
}

async fn connect_and_run(
    state: &AppState,
    channel: ChannelId,
    imap: &Imap,
    password: &str,
) -> Result<(), Failure> {
    let tcp = timed(
        "connect",
        tokio::net::TcpStream::connect((imap.host.as_str(), imap.port)),
    )
    .await?;
    if imap.tls {
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = tokio_rustls::rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(imap.host.clone())
            .map_err(|e| format!("the host name {:?}: {e}", imap.host))?;
        let tls = timed(
            "TLS handshake",
            tokio_rustls::TlsConnector::from(std::sync::Arc::new(config)).connect(name, tcp),
        )
        .await?;
        session(state, channel, imap, password, tls).await
    } else {
        session(state, channel, imap, password, tcp).await
    }
}

async fn session<T>(
    state: &AppState,
    channel: ChannelId,
    imap: &Imap,
    password: &str,
    stream: T,
) -> Result<(), Failure>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let mut client = async_imap::Client::new(stream);
    timed("greeting", async {
        client.read_response().await.and_then(|r| {
            r.ok_or_else(|| std::io::Error::other("the server closed the connection"))
        })
    })
    .await?;
    let mut session = timed("login", async {
        client
            .login(&imap.username, password)
            .await
            .map_err(|(e, _)| e)
    })
    .await?;
    let idle = timed("capabilities", session.capabilities())
        .await?
        .has_str("IDLE");
    let mailbox = timed("select", session.select(&imap.mailbox)).await?;
    let uidvalidity = mailbox.uid_validity.unwrap_or(0);
    let mut last_uid = match state.store.imap_cursor(channel).await {
        Ok(Some((name, validity, uid))) if name == imap.mailbox && validity == uidvalidity => uid,
        Ok(Some((name, validity, _))) => {
            tracing::info!(%channel, mailbox = %name, old = validity, new = uidvalidity,
                "the mailbox changed (UIDVALIDITY); reading it again from the start");
            0
        }
        Ok(None) => 0,
        Err(e) => return Err(format!("cannot read the IMAP cursor: {e}")),
    };
    loop {
        // New messages: UIDs above the last one stored, in order, a chunk at a time.
        let mut uids: Vec<u32> = timed(
            "search",
            session.uid_search(format!("UID {}:*", last_uid + 1)),
        )
        .await?
        .into_iter()
        .filter(|u| *u > last_uid)
        .collect();
        uids.sort_unstable();
        for chunk in uids.chunks(CHUNK) {
            let all = chunk
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            // Sizes first: a mail larger than the SMTP listener would take is not fetched; it
            // is skipped, logged and counted (it stays in the mailbox for a person to handle).
            let sizes: Vec<(u32, u32)> = timed("fetch sizes", async {
                let stream = session.uid_fetch(&all, "(UID RFC822.SIZE)").await?;
                stream
                    .try_filter_map(|f| async move { Ok(f.uid.zip(f.size)) })
                    .try_collect()
                    .await
            })
            .await?;
            let too_big: Vec<u32> = sizes
                .iter()
                .filter(|(_, size)| *size as usize > crate::smtp_in::MAX_MESSAGE)
                .map(|(uid, _)| *uid)
                .collect();
            for uid in &too_big {
                global().webhook("imap", "too_large");
                tracing::warn!(%channel, uid, mailbox = %imap.mailbox,
                    "a mail larger than {} bytes was skipped; it stays in the mailbox",
                    crate::smtp_in::MAX_MESSAGE);
            }
            let wanted: Vec<String> = chunk
                .iter()
                .filter(|u| !too_big.contains(u))
                .map(u32::to_string)
                .collect();
            let mut fetched: Vec<(u32, Vec<u8>)> = if wanted.is_empty() {
                Vec::new()
            } else {
                let set = wanted.join(",");
                timed("fetch", async {
                    let stream = session.uid_fetch(&set, "(UID BODY.PEEK[])").await?;
                    stream
                        .try_filter_map(
                            |f| async move { Ok(f.uid.zip(f.body().map(<[u8]>::to_vec))) },
                        )
                        .try_collect()
                        .await
                })
                .await?
            };
            fetched.sort_by_key(|(uid, _)| *uid);
            for (uid, body) in fetched {
                store(state, channel, body).await?;
                last_uid = uid;
                save_cursor(state, channel, imap, uidvalidity, last_uid).await?;
            }
            // Past a skipped message too, so it is not looked at again.
            let chunk_end = chunk.last().copied().unwrap_or(last_uid);
            if chunk_end > last_uid {
                last_uid = chunk_end;
                save_cursor(state, channel, imap, uidvalidity, last_uid).await?;
            }
        }
        if uidvalidity != 0 && last_uid == 0 {
            // An empty mailbox: record where we stand, so a later renumbering is noticed.
            let _ = state
                .store
                .set_imap_cursor(
                    channel,
                    imap.mailbox.clone(),
                    uidvalidity,
                    0,
                    state.clock.now(),
                )
                .await;
        }
        if idle {
            let mut handle = session.idle();
            timed("idle", handle.init()).await?;
            let (wait, _stop) = handle.wait_with_timeout(IDLE_FOR);
            wait.await.map_err(|e| format!("idle: {e}"))?;
            session = timed("done", handle.done()).await?;
        } else {
            tokio::time::sleep(Duration::from_secs(imap.poll_secs)).await;
            timed("noop", session.noop()).await?;
        }
    }
}

async fn save_cursor(
    state: &AppState,
    channel: ChannelId,
    imap: &Imap,
    uidvalidity: u32,
    last_uid: u32,
) -> Result<(), Failure> {
    state
        .store
        .set_imap_cursor(
            channel,
            imap.mailbox.clone(),
            uidvalidity,
            last_uid,
            state.clock.now(),
        )
        .await
        .map_err(|e| format!("cannot store the IMAP cursor: {e}"))
}

/// Stores one fetched mail as a raw event of the channel (a mail that cannot be read is kept
/// too, and recorded as failed when it is processed: it cannot be refused over IMAP).
async fn store(state: &AppState, channel: ChannelId, body: Vec<u8>) -> Result<(), Failure> {
    let now = state.clock.now();
    let raw = RawEvent {
        id: RawEventId::new_at(now),
        channel_id: channel,
        external_id: email::dedupe_key(&body).or_else(|| Some(email::fallback_id(&body))),
        body,
        received_at: now,
    };
    match state.store.append_raw(raw.clone()).await {
        Ok(Appended::Stored) => {
            state.ingest.publish(raw);
            global().webhook("imap", "accepted");
            Ok(())
        }
        Ok(Appended::Duplicate) => {
            global().webhook("imap", "duplicate");
            Ok(())
        }
        Err(e) => Err(format!("cannot store a fetched mail: {e}")),
    }
}
