//! The service's Prometheus metrics: decisions by policy, arm and outcome,
//! how often an experiment's two arms agree,
//! request latency, in-flight requests, open connections and the ones
//! closed by a timeout, swaps, rejected swaps, rollbacks and promotions, which
//! policy versions are active, and whether decisions can be logged.

use std::fmt;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use verdict_audit::LogHealth;
use verdict_engine::{Arm, DecisionRecord, PolicySet};

/// The `Content-Type` of [`Metrics::render`]'s output.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    policy: String,
    /// `champion` outside an experiment too: the policy as bound.
    arm: &'static str,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExperimentLabels {
    policy: String,
    experiment: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResponseLabels {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PolicyLabels {
    policy: String,
    version: String,
    sha256: String,
}

/// The connection timeouts.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Timeout {
    /// A request head took too long to arrive.
    Header,
    /// A kept-alive connection stayed idle too long.
    Idle,
    /// A request body took too long to arrive.
    Body,
}

impl EncodeLabelValue for Timeout {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), fmt::Error> {
        use fmt::Write as _;
        encoder.write_str(match self {
            Timeout::Header => "header",
            Timeout::Idle => "idle",
            Timeout::Body => "body",
        })
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TimeoutLabels {
    timeout: Timeout,
}

/// Latency buckets: 50 µs doubling to about 1.6 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(50e-6, 2.0, 16))
}

/// Every metric the service keeps, and the registry that renders them.
pub struct Metrics {
    registry: Registry,
    decisions: Family<DecisionLabels, Counter>,
    requests: Family<ResponseLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
    open_connections: Gauge,
    timeouts: Family<TimeoutLabels, Counter>,
    swaps: Counter,
    rejected_swaps: Counter,
    rollbacks: Counter,
    promotions: Counter,
    active: Family<PolicyLabels, Gauge>,
    generation: Gauge,
    log_failures: Counter,
    log_healthy: Gauge,
    compared: Family<ExperimentLabels, Counter>,
    agreed: Family<ExperimentLabels, Counter>,
    agreement: Family<ExperimentLabels, Gauge<f64, AtomicU64>>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric at zero, registered under the `verdict_` prefix.
    #[must_use]
    pub fn new() -> Metrics {
        let metrics = Metrics {
            registry: Registry::with_prefix("verdict"),
            decisions: Family::default(),
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            in_flight: Gauge::default(),
            open_connections: Gauge::default(),
            timeouts: Family::default(),
            swaps: Counter::default(),
            rejected_swaps: Counter::default(),
            rollbacks: Counter::default(),
            promotions: Counter::default(),
            active: Family::default(),
            generation: Gauge::default(),
            log_failures: Counter::default(),
            log_healthy: Gauge::default(),
            compared: Family::default(),
            agreed: Family::default(),
            agreement: Family::default(),
        };
        metrics.log_healthy.set(1);
        metrics.registered()
    }

    fn registered(mut self) -> Metrics {
        let registry = &mut self.registry;
        registry.register(
            "decisions",
            "Decisions made, by policy, arm (champion; challenger in an experiment) and outcome, answered or not",
            self.decisions.clone(),
        );
        registry.register(
            "requests",
            "HTTP requests answered, by route and status",
            self.requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its response, by route",
            self.latency.clone(),
        );
        registry.register(
            "in_flight_requests",
            "Requests being served now",
            self.in_flight.clone(),
        );
        registry.register(
            "open_connections",
            "Client connections being served now",
            self.open_connections.clone(),
        );
        registry.register(
            "connection_timeouts",
            "Connections closed because a request head was too slow (header), the connection idle too long (idle) or a request body too slow (body)",
            self.timeouts.clone(),
        );
        registry.register(
            "swaps",
            "Policy sets swapped in (reloads that changed something, and rollbacks)",
            self.swaps.clone(),
        );
        registry.register(
            "rejected_swaps",
            "Reloads refused because a binding or plugin failed to load, or a release was not signed by a trusted key or did not verify",
            self.rejected_swaps.clone(),
        );
        registry.register(
            "rollbacks",
            "Policies switched back to their previous version",
            self.rollbacks.clone(),
        );
        registry.register(
            "promotions",
            "Challengers made the champion of their policy (ending the experiment)",
            self.promotions.clone(),
        );
        registry.register(
            "policy_active",
            "1 for each active policy, labelled with its plugin version and module SHA-256",
            self.active.clone(),
        );
        registry.register(
            "policy_set_generation",
            "Counts every swap of the active policy set since start",
            self.generation.clone(),
        );
        registry.register(
            "log_append_failures",
            "Appends to the decision log that failed (each failed the requests written in it)",
            self.log_failures.clone(),
        );
        registry.register(
            "log_healthy",
            "0 while the last append to the decision log failed, else 1 (also 1 without a log)",
            self.log_healthy.clone(),
        );
        registry.register(
            "experiment_compared",
            "Customers both arms of an experiment decided, by policy and experiment",
            self.compared.clone(),
        );
        registry.register(
            "experiment_agreed",
            "Customers both arms of an experiment decided with the same outcome",
            self.agreed.clone(),
        );
        registry.register(
            "experiment_agreement",
            "Share of the customers both arms decided on which they gave the same outcome",
            self.agreement.clone(),
        );
        self
    }

    /// Takes in the decision log's health, as the log keeps it.
    pub fn set_log_health(&self, health: &LogHealth) {
        let counted = self.log_failures.get();
        self.log_failures
            .inc_by(health.failures.saturating_sub(counted));
        self.log_healthy.set(i64::from(health.broken.is_none()));
    }

    /// Counts the decisions of one request (answered or not), and for
    /// each customer both arms of an experiment decided, whether they
    /// agreed on the outcome.
    pub fn record_decisions(&self, records: &[DecisionRecord]) {
        // Records come grouped by customer, so the same few (policy, arm,
        // outcome) triples repeat: count them first, touch the family once
        // per triple.
        let mut counts: Vec<((&str, Arm, &str), u64)> = Vec::new();
        for record in records {
            let key = (
                record.policy(),
                record.arm().unwrap_or(Arm::Champion),
                record.outcome().as_str(),
            );
            match counts.iter_mut().find(|(k, _)| *k == key) {
                Some((_, n)) => *n += 1,
                None => counts.push((key, 1)),
            }
        }
        for ((policy, arm, outcome), n) in counts {
            self.decisions
                .get_or_create(&DecisionLabels {
                    policy: policy.to_owned(),
                    arm: arm.as_str(),
                    outcome: outcome.to_owned(),
                })
                .inc_by(n);
        }
        // A customer's challenger record follows its champion's.
        for pair in records.windows(2) {
            let [champion, challenger] = pair else {
                continue;
            };
            if champion.arm() != Some(Arm::Champion)
                || challenger.arm() != Some(Arm::Challenger)
                || champion.customer() != challenger.customer()
                || champion.policy() != challenger.policy()
            {
                continue;
            }
            let labels = ExperimentLabels {
                policy: champion.policy().to_owned(),
                experiment: champion.experiment().unwrap_or_default().to_owned(),
            };
            let compared = self.compared.get_or_create(&labels);
            compared.inc();
            let agreed = self.agreed.get_or_create(&labels);
            if champion.outcome() == challenger.outcome() {
                agreed.inc();
            }
            // Counts are far below 2^53: exact as floats.
            #[allow(clippy::cast_precision_loss)]
            let share = agreed.get() as f64 / compared.get() as f64;
            self.agreement.get_or_create(&labels).set(share);
        }
    }

    /// Counts one answered request and its latency.
    pub fn record_response(&self, route: &'static str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&ResponseLabels { route, status })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(seconds);
    }

    /// A request starts; the returned guard marks its end when dropped
    /// (also when the client goes away mid-request).
    #[must_use]
    pub fn start_request(&self) -> InFlight {
        self.in_flight.inc();
        InFlight {
            gauge: self.in_flight.clone(),
        }
    }

    /// A connection opens; the returned guard marks its close when dropped.
    #[must_use]
    pub fn open_connection(&self) -> InFlight {
        self.open_connections.inc();
        InFlight {
            gauge: self.open_connections.clone(),
        }
    }

    /// A connection was closed by a timeout.
    pub fn record_timeout(&self, timeout: Timeout) {
        self.timeouts
            .get_or_create(&TimeoutLabels { timeout })
            .inc();
    }

    /// A new policy set went live.
    pub fn record_swap(&self, generation: u64, set: &PolicySet) {
        self.swaps.inc();
        self.set_active(generation, set);
    }

    /// A reload was refused.
    pub fn record_rejected_swap(&self) {
        self.rejected_swaps.inc();
    }

    /// A policy was rolled back (also counted as a swap).
    pub fn record_rollback(&self, generation: u64, set: &PolicySet) {
        self.rollbacks.inc();
        self.record_swap(generation, set);
    }

    /// A challenger was promoted (also counted as a swap).
    pub fn record_promotion(&self, generation: u64, set: &PolicySet) {
        self.promotions.inc();
        self.record_swap(generation, set);
    }

    /// Labels the active policies (at start, and after every swap).
    pub fn set_active(&self, generation: u64, set: &PolicySet) {
        self.active.clear();
        for policy in set.policies() {
            self.active
                .get_or_create(&PolicyLabels {
                    policy: policy.name().to_owned(),
                    version: policy.plugin().manifest().version.clone(),
                    sha256: policy.plugin().sha256().to_string(),
                })
                .set(1);
        }
        self.generation
            .set(i64::try_from(generation).unwrap_or(i64::MAX));
    }

    /// Every metric in the OpenMetrics text format Prometheus scrapes.
    #[must_use]
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Marks one request in flight (or one open connection) until dropped.
#[derive(Debug)]
pub struct InFlight {
    gauge: Gauge,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}
