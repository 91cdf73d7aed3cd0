//! The automatic-answer worker. A playbook rule with `then.auto_answer` queues each new case
//! it routes (in the ingest transaction); this worker decides each one: never on a crisis or
//! negative case unless the rule says so, only with a public article in force whose retrieval
//! confidence reaches the rule's threshold, and only if the channel's own rules allow the
//! reply (length, reply windows). The answer goes out as Switchboard's reply and resolves the
//! case as `deflected`; a customer who writes back reopens it for a person (see the store).

use crate::AppState;
use crate::answers::{Audience, context_for, rank_articles};
use crate::metrics::{Metrics, global};
use std::time::Duration;
use switchboard_core::kb::{plain_text, render};
use switchboard_core::playbook::Sentiment;
use switchboard_store::{AutoAnswerDecision, AutoAnswerJob};

/// Cases decided per round.
const BATCH: usize = 50;
/// How often the queue is looked at when nothing wakes the worker.
const IDLE: Duration = Duration::from_secs(5);

pub async fn run(state: AppState) {
    let mut shutdown = state.shutdown.subscribe();
    loop {
        let busy = match round(&state).await {
            Ok((n, failed)) => n == BATCH && failed < n,
            Err(e) => {
                tracing::warn!(error = %e, "automatic answers: a round failed; trying again soon");
                false
            }
        };
        if busy {
            continue;
        }
        tokio::select! {
            _ = state.auto_answer_wake.notified() => {}
            _ = tokio::time::sleep(IDLE) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Decides and finishes up to [`BATCH`] pending cases; returns how many, and how many of
/// them failed (they stay pending, for the next round; the others go on).
pub async fn round(state: &AppState) -> anyhow::Result<(usize, usize)> {
    let jobs = state.store.pending_auto_answers(BATCH).await?;
    let mut failed = 0;
    for job in &jobs {
        if let Err(e) = one(state, job).await {
            failed += 1;
            tracing::warn!(case = %job.case_id, error = %e, "automatic answer failed; will try again");
        }
    }
    Ok((jobs.len(), failed))
}

async fn one(state: &AppState, job: &AutoAnswerJob) -> anyhow::Result<()> {
    let decision = decide(state, job).await?;
    let now = state.clock.now();
    let (done, kind) = match state
        .store
        .finish_auto_answer(job.case_id, decision.clone(), now)
        .await
    {
        Ok(done) => {
            let kind = match &decision {
                AutoAnswerDecision::Answer { .. } => done.state.clone(),
                AutoAnswerDecision::Skip { reason, .. } => {
                    reason.split(':').next().unwrap_or(reason).to_owned()
                }
            };
            (done, kind)
        }
        // The guards refuse the article's text (personal data, a banned phrase in a public
        // reply): a person answers instead.
        Err(switchboard_store::StoreError::ReplyBlocked { .. }) => {
            let confidence = match &decision {
                AutoAnswerDecision::Answer { confidence, .. } => Some(*confidence),
                AutoAnswerDecision::Skip { confidence, .. } => *confidence,
            };
            let done = state
                .store
                .finish_auto_answer(job.case_id, skip("guards", confidence), now)
                .await?;
            (done, "guards".to_owned())
        }
        Err(e) => return Err(e.into()),
    };
    Metrics::count(&global().auto_answers, &kind, 1);
    tracing::info!(case = %job.case_id, outcome = %kind, "automatic answer");
    state.bus.publish(done.events);
    if done.reply.is_some() {
        state.outbound_wake.notify_one();
    }
    Ok(())
}

fn skip(reason: impl Into<String>, confidence: Option<f64>) -> AutoAnswerDecision {
    AutoAnswerDecision::Skip {
        reason: reason.into(),
        confidence,
    }
}

async fn decide(state: &AppState, job: &AutoAnswerJob) -> anyhow::Result<AutoAnswerDecision> {
    let sentiment = job
        .understanding
        .as_ref()
        .and_then(|u| u.sentiment.as_ref())
        .and_then(|s| Sentiment::parse(&s.label));
    if let Err(withheld) = job.policy.allows(&job.purpose, sentiment) {
        return Ok(skip(withheld.as_str(), None));
    }
    let ranked = rank_articles(
        state,
        &job.question,
        job.understanding.as_ref(),
        Audience::Customer,
        1,
    )
    .await?;
    let Some(best) = ranked.hits.first() else {
        return Ok(skip("no_article", None));
    };
    if best.confidence < job.policy.min_confidence() {
        return Ok(skip("low_confidence", Some(best.confidence)));
    }
    let article = &ranked.articles[best.entry];
    let detail = state.store.case(job.case_id).await?;
    let ctx = context_for(state, &detail.case, None).await;
    let text = plain_text(&render(article.data["body"].as_str().unwrap_or(""), &ctx));
    if text.is_empty() {
        return Ok(skip("no_article", Some(best.confidence)));
    }
    if let Err(refused) =
        crate::api::cases::check_channel_rules(state, job.case_id, None, false, &text, None).await
    {
        return Ok(skip(
            format!("channel_rules: {}", refused.code),
            Some(best.confidence),
        ));
    }
    Ok(AutoAnswerDecision::Answer {
        text,
        article_id: article.id.to_string(),
        confidence: best.confidence,
    })
}
