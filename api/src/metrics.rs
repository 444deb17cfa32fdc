//! Prometheus metrics, served on `GET /metrics` in the OpenMetrics text format.
//!
//! Labels take their values from closed sets only (routes, schema field names, error codes),
//! never from what a client sends, so a hostile client cannot grow the series without bound.
//! No metric carries user ids or client data.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{PathSegment, Response, Value};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sea_orm::DbBackend;

use crate::db::Database;

/// A root field's execution, by outcome (`ok` or the error code).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FieldLabels {
    /// `query`, `mutation` or `subscription`.
    pub kind: &'static str,
    pub field: String,
    pub outcome: String,
}

/// A root field, for its latency.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FieldName {
    pub kind: &'static str,
    pub field: String,
}

/// An HTTP request, by route and status.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: &'static str,
    pub status: u16,
}

/// An HTTP route, for its latency.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    pub route: &'static str,
}

/// One instance's metrics.
pub struct Metrics {
    registry: Registry,
    operations: Family<FieldLabels, Counter>,
    operation_seconds: Family<FieldName, Histogram, fn() -> Histogram>,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: Family<RouteLabel, Histogram, fn() -> Histogram>,
    /// Open WebSocket connections.
    pub websockets: Gauge,
    /// Running subscription operations.
    pub subscriptions: Gauge,
    /// How late after its deadline each expiry warning or end was emitted.
    pub scheduler_lag: Histogram,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    /// The metrics of an instance on `db`.
    pub fn new(db: &Database) -> Arc<Self> {
        let mut registry = Registry::with_prefix("inzage");
        let operations = Family::<FieldLabels, Counter>::default();
        let operation_seconds = Family::<FieldName, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_seconds = Family::<RouteLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let websockets = Gauge::default();
        let subscriptions = Gauge::default();
        let scheduler_lag = Histogram::new(exponential_buckets(0.01, 2.0, 14));
        registry.register(
            "graphql_operations",
            "Root fields of the GraphQL operations run, by kind, field and outcome (ok or the error code)",
            operations.clone(),
        );
        registry.register(
            "graphql_operation_duration_seconds",
            "Time to run a GraphQL operation, under each of its root fields",
            operation_seconds.clone(),
        );
        registry.register("http_requests", "HTTP requests, by method, route and status", http_requests.clone());
        registry.register("http_request_duration_seconds", "Time to answer an HTTP request", http_seconds.clone());
        registry.register("websocket_connections", "Open WebSocket connections", websockets.clone());
        registry.register("subscriptions", "Running GraphQL subscriptions", subscriptions.clone());
        registry.register(
            "scheduler_lag_seconds",
            "How late after its deadline an expiry warning or end was emitted",
            scheduler_lag.clone(),
        );
        registry.register_collector(Box::new(Sampled { db: db.clone() }));
        Arc::new(Self {
            registry,
            operations,
            operation_seconds,
            http_requests,
            http_seconds,
            websockets,
            subscriptions,
            scheduler_lag,
        })
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Records one HTTP request.
    pub fn http_request(&self, method: &str, route: &'static str, status: u16, elapsed: Duration) {
        self.http_requests.get_or_create(&HttpLabels { method: method.to_owned(), route, status }).inc();
        self.http_seconds.get_or_create(&RouteLabel { route }).observe(elapsed.as_secs_f64());
    }

    /// Records one expiry step emitted `lag` after it was due.
    pub fn scheduler_step(&self, lag: Duration) {
        self.scheduler_lag.observe(lag.as_secs_f64());
    }
}

/// Values read from the database handle and the event hub at each scrape.
#[derive(Debug)]
struct Sampled {
    db: Database,
}

impl Collector for Sampled {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (size, idle) = match self.db.backend() {
            DbBackend::Postgres => {
                let pool = self.db.conn().get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => {
                let pool = self.db.conn().get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        };
        let gauges = [
            ("db_pool_connections", "Connections the database pool holds", i64::from(size)),
            ("db_pool_idle_connections", "Idle connections in the database pool", idle as i64),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let counters = [
            ("db_statements", "SQL statements run", self.db.statements_executed()),
            (
                "notifications_published",
                "Wake-ups for committed notifications handed to this instance's hub (those of one recipient that come together count once)",
                self.db.hub().notifications_published(),
            ),
            (
                "events_heard",
                "Events heard from other instances through the event transport",
                self.db.hub().events_heard(),
            ),
            (
                "notifications_delivered",
                "Notifications handed to live subscribers on this instance",
                self.db.hub().notifications_delivered(),
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
        }
        Ok(())
    }
}

/// The root fields of the operation a request runs, read from its parsed document, so that
/// operations are counted and timed without a schema extension (any extension sends every
/// field of every response through the extension chain).
pub struct RootFields {
    kind: &'static str,
    /// (response key, field name)
    fields: Vec<(String, String)>,
}

impl RootFields {
    /// The operation's root fields (introspection aside), or `None` when the document does not
    /// parse or names no operation it holds.
    pub fn of(request: &mut async_graphql::Request) -> Option<Self> {
        let name = request.operation_name.clone();
        let document = request.parsed_query().ok()?;
        let operation = match &document.operations {
            DocumentOperations::Single(operation) => operation,
            DocumentOperations::Multiple(operations) => match &name {
                Some(name) => operations.iter().find(|(n, _)| n.as_str() == name).map(|(_, o)| o)?,
                None if operations.len() == 1 => operations.values().next()?,
                None => return None,
            },
        };
        let kind = match operation.node.ty {
            OperationType::Query => "query",
            OperationType::Mutation => "mutation",
            OperationType::Subscription => "subscription",
        };
        let mut fields = Vec::new();
        collect_root_fields(document, &operation.node.selection_set.node, &mut fields, 0);
        Some(Self { kind, fields })
    }

    pub fn is_subscription(&self) -> bool {
        self.kind == "subscription"
    }

    pub fn is_query(&self) -> bool {
        self.kind == "query"
    }
}

fn collect_root_fields(
    document: &ExecutableDocument,
    selections: &SelectionSet,
    fields: &mut Vec<(String, String)>,
    depth: usize,
) {
    // Fragments cannot nest without end in a valid document; the bound keeps an invalid one
    // (which is refused before it runs) from recursing here.
    if depth > 8 {
        return;
    }
    for selection in &selections.items {
        match &selection.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                if !name.starts_with("__") {
                    fields.push((field.node.response_key().node.to_string(), name.to_owned()));
                }
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    collect_root_fields(document, &fragment.node.selection_set.node, fields, depth + 1);
                }
            }
            Selection::InlineFragment(inline) => {
                collect_root_fields(document, &inline.node.selection_set.node, fields, depth + 1);
            }
        }
    }
}

impl Metrics {
    /// Counts each root field of an operation that ran, with its outcome (ok, or the code of the
    /// error the field itself failed with), and observes the operation's time for each.
    /// Operations refused before they ran (parse, validation, limits) are not counted: their
    /// field names would come from the client, not from the schema.
    pub fn operation(&self, root: &RootFields, response: &Response, elapsed: Duration) {
        if response.errors.iter().any(|error| error.path.is_empty()) {
            return;
        }
        for (key, field) in &root.fields {
            let failed = response
                .errors
                .iter()
                .find(|error| error.path.len() == 1 && matches!(&error.path[0], PathSegment::Field(k) if k == key));
            let outcome = match failed {
                None => "ok".to_owned(),
                Some(error) => error
                    .extensions
                    .as_ref()
                    .and_then(|extensions| extensions.get("code"))
                    .and_then(|code| match code {
                        Value::String(code) => Some(code.clone()),
                        _ => None,
                    })
                    .unwrap_or_else(|| "error".to_owned()),
            };
            let kind = root.kind;
            self.operation_seconds
                .get_or_create(&FieldName { kind, field: field.clone() })
                .observe(elapsed.as_secs_f64());
            self.operations.get_or_create(&FieldLabels { kind, field: field.clone(), outcome }).inc();
        }
    }
}

/// Holds a gauge up by one while alive.
pub struct Open(Gauge);

impl Open {
    pub fn new(gauge: &Gauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}
