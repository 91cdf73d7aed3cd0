//! Which articles answer a customer's question: the one ranking that suggestions
//! (`/cases/{id}/suggestions`) and automatic answers share. Words (BM25F over title,
//! questions and body) and, when the message was classified, the articles linked to its intent.

use crate::AppState;
use crate::api::kb::entry_of;
use switchboard_core::Understood;
use switchboard_core::kb::{ArticleDraft, Context};
use switchboard_store::{Case, KbItem, KbKind, StoreError};
use switchboard_understand::retrieve::{Hit, Index, with_intent};

/// Articles in force (and in the question's language, when both say one), and the best of
/// them for the question, best first; `hits[i].entry` indexes `articles`.
pub struct Ranked {
    pub articles: Vec<KbItem>,
    pub hits: Vec<Hit>,
}

/// Whom the ranking is for: an agent sees internal articles too; a customer only public ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Agent,
    Customer,
}

/// What an entry's placeholders are filled with on `case`, answered by `agent`.
pub async fn context_for(state: &AppState, case: &Case, agent: Option<String>) -> Context {
    let contact = state.store.contact(case.contact_id).await.ok();
    let team = match case.team {
        Some(t) => state.store.team(t).await.ok(),
        None => None,
    };
    Context {
        contact_name: contact.and_then(|c| c.display_name),
        agent_name: agent,
        team_name: team.map(|t| t.name.to_string()),
        case_id: Some(case.id.to_string()),
    }
}

/// The positions of the articles that answer `intent`.
pub fn linked_to(articles: &[KbItem], intent: &str) -> Vec<usize> {
    articles
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            a.data["intents"]
                .as_array()
                .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(intent)))
        })
        .map(|(i, _)| i)
        .collect()
}

pub async fn rank_articles(
    state: &AppState,
    question: &str,
    understood: Option<&Understood>,
    audience: Audience,
    k: usize,
) -> Result<Ranked, StoreError> {
    let language = understood.and_then(|u| u.language.clone());
    let now = state.clock.now();
    let articles: Vec<KbItem> = state
        .store
        .kb_items(KbKind::Article, false)
        .await?
        .into_iter()
        .filter(|a| {
            let d: ArticleDraft = serde_json::from_value(a.data.clone()).unwrap_or_default();
            d.in_force(now)
                && (audience == Audience::Agent || d.public)
                && match (&d.language, &language) {
                    (Some(l), Some(want)) => switchboard_core::language::same(l, want),
                    _ => true,
                }
        })
        .collect();
    let index = Index::build(&articles.iter().map(entry_of).collect::<Vec<_>>());
    let mut hits = index.search(question, k.max(10));
    if let Some(intent) = understood.and_then(|u| u.intent.as_ref()) {
        let linked = linked_to(&articles, &intent.label);
        hits = with_intent(
            hits,
            &linked,
            &intent.label,
            f64::from(intent.confidence),
            k.max(10),
        );
    }
    hits.truncate(k);
    Ok(Ranked { articles, hits })
}
