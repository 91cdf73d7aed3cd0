//! What the admin page shows of each channel's traffic: when its provider last delivered an
//! event and what became of it; and where a given message was filed (for the test button).

use crate::journal::bad;
use crate::{Store, StoreError, params};
use serde::Serialize;
use switchboard_core::*;

/// A channel's newest raw event from its provider (test messages are not counted).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelActivity {
    pub channel_id: ChannelId,
    pub last_received_at: Timestamp,
    /// `ok`, `error: …`, or `None` while it waits to be processed.
    pub last_outcome: Option<String>,
}

impl Store {
    /// The newest provider event of every channel that has one.
    pub async fn channel_activity(&self) -> Result<Vec<ChannelActivity>, StoreError> {
        self.pool
            .read(|c| {
                let channels: Vec<String> = c
                    .query("SELECT id FROM channels ORDER BY id", &[])?
                    .iter()
                    .map(|r| r.text(0))
                    .collect::<Result<_, _>>()?;
                let mut out = Vec::with_capacity(channels.len());
                for id in channels {
                    // Newest first along (channel_id, id); test messages are skipped.
                    if let Some(r) = c.query_opt(
                        "SELECT received_at, outcome FROM raw_events WHERE channel_id = $1 \
                         AND (external_id IS NULL OR substr(external_id, 1, 8) <> 'sb-test:') \
                         ORDER BY id DESC LIMIT 1",
                        params![id.as_str()],
                    )? {
                        out.push(ChannelActivity {
                            channel_id: ChannelId::parse(&id).map_err(bad)?,
                            last_received_at: Timestamp::from_unix_micros(r.int(0)?),
                            last_outcome: r.opt_text(1)?,
                        });
                    }
                }
                Ok(out)
            })
            .await
    }

    /// The case holding the message a channel received under `external_id`, once filed.
    pub async fn case_of_message(
        &self,
        channel: ChannelId,
        external_id: String,
    ) -> Result<Option<CaseId>, StoreError> {
        self.pool
            .read(move |c| {
                c.query_opt(
                    "SELECT case_id FROM messages WHERE channel_id = $1 AND external_id = $2",
                    params![channel.to_string(), external_id],
                )?
                .map(|r| CaseId::parse(&r.text(0)?).map_err(bad))
                .transpose()
            })
            .await
    }
}
