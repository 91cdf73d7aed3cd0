//! Prometheus metrics, served at `/metrics` in the text format. Counters are process-wide
//! (so error rendering can count without threading state through); gauges that describe
//! stored data (queues, outbox) are read from the store at scrape time.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::OnceLock;

type Labels = Vec<(String, String)>;

pub struct Metrics {
    registry: Registry,
    pub webhook_requests: Family<Labels, Counter>,
    pub webhook_events: Family<Labels, Counter>,
    pub api_errors: Family<Labels, Counter>,
    pub ingest_messages: Counter,
    pub ingest_duplicates: Counter,
    pub ingest_failed: Counter,
    pub cases_opened: Counter,
    pub outbound: Family<Labels, Counter>,
    pub stream_clients: Gauge,
    /// Open web chat connections (visitors with the widget open) on this node.
    pub chat_connections: Gauge,
    pub cases: Family<Labels, Gauge>,
    /// Active cases per team and purpose: the queues supervisors watch.
    pub queue_cases: Family<Labels, Gauge>,
    /// Active cases whose SLA warned or breached, per team.
    pub sla_at_risk: Family<Labels, Gauge>,
    pub outbox_depth: Gauge,
    pub raw_pending: Gauge,
    pub db_commits: Gauge,
    pub db_committed_jobs: Gauge,
    /// SLA warnings and breaches acted on, by kind (`warning`, `breach`).
    pub sla_events: Family<Labels, Counter>,
    /// Expert hand-off events by kind (`sent`, `answered`, `reminded`, `revoked`, `mail_failed`).
    pub expert_events: Family<Labels, Counter>,
    /// Outbound (notify) webhook attempts by outcome.
    pub notify_webhooks: Family<Labels, Counter>,
    /// Automatic answers by outcome (`answered`, `held`, or why one was skipped).
    pub auto_answers: Family<Labels, Counter>,
    /// Learning-loop decisions by model kind and outcome (`shipped`, `kept`, `unchanged`,
    /// `skipped`, `failed`).
    pub retrains: Family<Labels, Counter>,
}

static GLOBAL: OnceLock<Metrics> = OnceLock::new();

/// The process's metrics.
pub fn global() -> &'static Metrics {
    GLOBAL.get_or_init(Metrics::new)
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let m = Metrics {
            webhook_requests: Family::default(),
            webhook_events: Family::default(),
            api_errors: Family::default(),
            ingest_messages: Counter::default(),
            ingest_duplicates: Counter::default(),
            ingest_failed: Counter::default(),
            cases_opened: Counter::default(),
            outbound: Family::default(),
            stream_clients: Gauge::default(),
            chat_connections: Gauge::default(),
            cases: Family::default(),
            queue_cases: Family::default(),
            sla_at_risk: Family::default(),
            outbox_depth: Gauge::default(),
            raw_pending: Gauge::default(),
            db_commits: Gauge::default(),
            db_committed_jobs: Gauge::default(),
            sla_events: Family::default(),
            expert_events: Family::default(),
            notify_webhooks: Family::default(),
            auto_answers: Family::default(),
            retrains: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "webhook_requests",
            "Inbound webhook requests by channel kind and outcome",
            m.webhook_requests.clone(),
        );
        registry.register(
            "webhook_events",
            "Events read from accepted inbound webhooks, by channel kind and event (message, echo, receipt, ignored, malformed…)",
            m.webhook_events.clone(),
        );
        registry.register(
            "api_errors",
            "Error answers by HTTP status and problem code",
            m.api_errors.clone(),
        );
        registry.register(
            "ingest_messages",
            "Inbound messages stored on cases",
            m.ingest_messages.clone(),
        );
        registry.register(
            "ingest_duplicates",
            "Inbound messages dropped as already stored",
            m.ingest_duplicates.clone(),
        );
        registry.register(
            "ingest_failed",
            "Raw events that could not be turned into messages",
            m.ingest_failed.clone(),
        );
        registry.register(
            "cases_opened",
            "Cases opened by inbound messages",
            m.cases_opened.clone(),
        );
        registry.register(
            "outbound_attempts",
            "Outbound send attempts by outcome",
            m.outbound.clone(),
        );
        registry.register(
            "stream_clients",
            "Connected live-stream clients",
            m.stream_clients.clone(),
        );
        registry.register(
            "chat_connections",
            "Open web chat connections on this node",
            m.chat_connections.clone(),
        );
        registry.register("cases", "Cases by status", m.cases.clone());
        registry.register(
            "queue_cases",
            "Active cases per team and purpose",
            m.queue_cases.clone(),
        );
        registry.register(
            "sla_at_risk",
            "Active cases whose SLA warned or breached, per team",
            m.sla_at_risk.clone(),
        );
        registry.register(
            "outbox_depth",
            "Outbound messages queued or in flight",
            m.outbox_depth.clone(),
        );
        registry.register(
            "raw_events_pending",
            "Raw events stored but not yet processed",
            m.raw_pending.clone(),
        );
        registry.register(
            "db_commits",
            "Write transactions committed since start",
            m.db_commits.clone(),
        );
        registry.register(
            "db_committed_jobs",
            "Write jobs committed since start (jobs per commit = group size)",
            m.db_committed_jobs.clone(),
        );
        registry.register(
            "sla_events",
            "SLA warnings and breaches acted on",
            m.sla_events.clone(),
        );
        registry.register(
            "expert_events",
            "Expert hand-off links sent, answered, reminded, revoked, or mails that failed",
            m.expert_events.clone(),
        );
        registry.register(
            "notify_webhooks",
            "Signed outbound webhook attempts by outcome",
            m.notify_webhooks.clone(),
        );
        registry.register(
            "auto_answers",
            "Automatic answers by outcome: answered, held for approval, or why not",
            m.auto_answers.clone(),
        );
        registry.register(
            "retrains",
            "Learning-loop decisions by model kind and outcome",
            m.retrains.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Counts one event in a family with a single `kind` label.
    pub fn count(family: &Family<Labels, Counter>, kind: &str, n: u64) {
        family.get_or_create(&labels(&[("kind", kind)])).inc_by(n);
    }

    /// Makes `retrains{kind, outcome}` exist at 0, so a dashboard or an alert sees the series
    /// from the start instead of only after the first such decision.
    pub fn retrain_series(&self, kind: &str, outcome: &str) {
        let _ = self
            .retrains
            .get_or_create(&labels(&[("kind", kind), ("outcome", outcome)]));
    }

    pub fn retrain(&self, kind: &str, outcome: &str) {
        self.retrains
            .get_or_create(&labels(&[("kind", kind), ("outcome", outcome)]))
            .inc();
    }

    pub fn webhook(&self, kind: &str, outcome: &str) {
        self.webhook_requests
            .get_or_create(&labels(&[("kind", kind), ("outcome", outcome)]))
            .inc();
    }

    pub fn webhook_event(&self, kind: &str, event: &str) {
        self.webhook_events
            .get_or_create(&labels(&[("kind", kind), ("event", event)]))
            .inc();
    }

    pub fn api_error(&self, status: u16, code: &str) {
        self.api_errors
            .get_or_create(&labels(&[("status", &status.to_string()), ("code", code)]))
            .inc();
    }

    pub fn outbound(&self, kind: &str, outcome: &str) {
        self.outbound
            .get_or_create(&labels(&[("kind", kind), ("outcome", outcome)]))
            .inc();
    }

    /// Sets the live queue gauges: `(team, purpose, active cases)` and `(team, at risk)`.
    /// Queues that emptied since the last scrape read 0, not their old value.
    pub fn set_queues(&self, queues: &[(String, String, i64)], at_risk: &[(String, i64)]) {
        self.queue_cases.clear();
        for (team, purpose, n) in queues {
            self.queue_cases
                .get_or_create(&labels(&[("team", team), ("purpose", purpose)]))
                .set(*n);
        }
        self.sla_at_risk.clear();
        for (team, n) in at_risk {
            self.sla_at_risk
                .get_or_create(&labels(&[("team", team)]))
                .set(*n);
        }
    }

    pub fn set_cases(&self, status: &str, n: i64) {
        self.cases
            .get_or_create(&labels(&[("status", status)]))
            .set(n);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
