//! HTTP: `POST /graphql`, queries or GraphiQL on `GET /graphql`, `/healthz`, `/readyz` and
//! `/metrics`.
//!
//! Every request is refused as early and as cheaply as possible: bodies that are not JSON or
//! too large before they are read, batches that are too long and documents that break a limit
//! before authentication, so none of them costs a database round trip. Refusals are GraphQL
//! error responses with `extensions.code`, also where the HTTP status says it all.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse, ServerError};
use axum::extract::{MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

mod graphiql;
pub mod ws;

use crate::app::App;
use crate::audit::ReadLog;
use crate::auth::{Authentication, authenticate};
use crate::config::Settings;
use crate::graphql::Keep;
use crate::graphql::{LazyLoaders, RequestData};
use crate::metrics::RootFields;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The service's routes.
pub fn router(app: Arc<App>) -> Router {
    let mut router = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(ws::upgrade))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if app.settings.graphiql_enabled() {
        router = router.route("/graphql/assets/{file}", get(graphiql::asset));
    }
    if app.settings.metrics {
        router = router.route("/metrics", get(metrics));
    }
    router
        .layer(middleware::from_fn_with_state(app.clone(), track))
        .layer(cors(&app.settings))
        .with_state(app)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %request.uri().path(),
                request_id,
                user_id = tracing::field::Empty,
            )
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Serves `router` on `listener` until `shutdown` completes. Then live connections are closed
/// with 1001 and in-flight requests get the configured grace period to finish.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let token = app.shutdown.clone();
    let signalled = {
        let token = token.clone();
        async move {
            shutdown.await;
            token.cancel();
        }
    };
    let grace = app.settings.shutdown_grace;
    let service = router(app.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, service).with_graceful_shutdown(signalled);
    let deadline = async {
        token.cancelled().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        served = server => served?,
        () = deadline => tracing::warn!("in-flight requests did not finish within the grace period"),
    }
    // Give the sockets being closed a moment to say goodbye.
    let closing = async {
        while app.metrics.websockets.get() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let _ = tokio::time::timeout(grace.min(Duration::from_secs(5)), closing).await;
    Ok(())
}

/// CORS for single-page apps: the server's own origin, localhost in development, and the
/// origins of `INZAGE_ALLOWED_ORIGINS`; bearer tokens (no cookies), and the request id exposed.
fn cors(settings: &Settings) -> CorsLayer {
    let settings = settings.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, parts: &Parts| {
            let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok());
            origin.to_str().is_ok_and(|origin| settings.allows_origin(origin, host))
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, REQUEST_ID])
        .expose_headers([REQUEST_ID])
        .max_age(Duration::from_secs(600))
}

/// Counts and times every request by its route (a closed set: never the raw path).
async fn track(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let route = match request.extensions().get::<MatchedPath>().map(MatchedPath::as_str) {
        Some("/graphql") => "/graphql",
        Some("/graphql/ws") => "/graphql/ws",
        Some("/graphql/assets/{file}") => "/graphql/assets/{file}",
        Some("/healthz") => "/healthz",
        Some("/readyz") => "/readyz",
        Some("/metrics") => "/metrics",
        _ => "other",
    };
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    app.metrics.http_request(&method, route, response.status().as_u16(), started.elapsed());
    response
}

/// A GraphQL-shaped refusal with an HTTP status of its own.
fn refusal(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(json!({ "errors": [{ "message": message.into(), "extensions": { "code": code } }] }))).into_response()
}

/// Whether a POST body is JSON. Anything else (forms, plain text) is refused so that a page on
/// another site cannot send a mutation with a simple, preflight-free request.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || mime == "application/graphql-response+json"
        })
        .unwrap_or(false)
}

fn request_id(request: &Request) -> String {
    request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn authorization(headers: &HeaderMap) -> Option<String> {
    headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or("").to_owned())
}

/// The media type of a GraphQL response, as the client's `Accept` header asks (GraphQL over
/// HTTP): `application/graphql-response+json` when preferred, `application/json` otherwise (also
/// for `*/*`, for no `Accept` at all, and for types neither of which is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    Json,
    GraphqlResponse,
}

impl MediaType {
    fn of(headers: &HeaderMap) -> Self {
        let Some(accept) = headers.get(header::ACCEPT).and_then(|value| value.to_str().ok()) else {
            return Self::Json;
        };
        let mut best: Option<(f32, Self)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|parameter| parameter.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let candidate = match media.as_str() {
                "application/graphql-response+json" => Self::GraphqlResponse,
                "application/json" | "application/*" | "*/*" => Self::Json,
                _ => continue,
            };
            // The highest quality wins; among equals, the first listed.
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, candidate));
            }
        }
        best.map_or(Self::Json, |(_, media)| media)
    }

    fn content_type(self) -> HeaderValue {
        match self {
            Self::Json => HeaderValue::from_static("application/json; charset=utf-8"),
            Self::GraphqlResponse => HeaderValue::from_static("application/graphql-response+json; charset=utf-8"),
        }
    }
}

async fn graphql_post(State(app): State<Arc<App>>, request: Request) -> Response {
    if !is_json(request.headers()) {
        return refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "POST /graphql takes a JSON body (Content-Type: application/json)",
        );
    }
    let max = app.settings.max_body_bytes;
    // The rest of the body is never read, so the connection cannot carry another request: tell
    // the client to open a new one.
    let too_large = || {
        let mut response =
            refusal(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", format!("the body may be at most {max} bytes"));
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    };
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max as u64) {
        return too_large();
    }
    let request_id = request_id(&request);
    let authorization = authorization(request.headers());
    let media = MediaType::of(request.headers());
    let address = client_address(&app, &request);
    let Ok(body) = axum::body::to_bytes(request.into_body(), max).await else {
        return too_large();
    };
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(_) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                "the body is not a GraphQL request: send {\"query\": ..., \"variables\": {...}} or a list of them",
            );
        }
    };
    if batch.iter().any(|operation| operation.query.trim().is_empty()) {
        return refusal(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", "the request has no `query`");
    }
    execute(&app, batch, Caller { authorization, request_id, address }, media).await
}

/// `GET /graphql`: with a `query` parameter, runs a query (never a mutation); without one,
/// GraphiQL.
async fn graphql_get(State(app): State<Arc<App>>, request: Request) -> Response {
    let Some(query) = request.uri().query().filter(|query| !query.is_empty()) else {
        return graphiql(&app);
    };
    if query.len() > app.settings.max_body_bytes {
        return refusal(StatusCode::URI_TOO_LONG, "PAYLOAD_TOO_LARGE", "the query string is too long");
    }
    let mut operation = match async_graphql::http::parse_query_string(query) {
        Ok(operation) => operation,
        Err(err) => return refusal(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", err.to_string()),
    };
    let media = MediaType::of(request.headers());
    if let Err(error) = app.limits.check(&mut operation) {
        return finish(BatchResponse::Single(async_graphql::Response::from_errors(vec![error])), "", media);
    }
    let name = operation.operation_name.clone();
    let kind = operation.parsed_query().ok().and_then(|document| {
        document
            .operations
            .iter()
            .find(|(operation, _)| name.is_none() || operation.map(|o| o.as_str()) == name.as_deref())
            .map(|(_, operation)| operation.node.ty)
    });
    if matches!(kind, Some(OperationType::Mutation | OperationType::Subscription)) {
        let mut response = refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "GET runs queries only: send mutations with POST, subscribe over /graphql/ws",
        );
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let caller = Caller {
        authorization: authorization(request.headers()),
        request_id: request_id(&request),
        address: client_address(&app, &request),
    };
    execute(&app, BatchRequest::Single(operation), caller, media).await
}

/// What every operation carries, over HTTP and WebSocket alike: who asks, the request's id (for
/// logs and the access log), and its batch loaders (made on first use: they hold what one
/// viewer may see, so they never outlive the request or connection), keeping what `keep` says.
fn add_request_data(
    data: &mut async_graphql::Data,
    app: &App,
    auth: Authentication,
    request_id: String,
    client_address: Option<std::net::IpAddr>,
    keep: Keep,
) {
    let viewer = auth.viewer().ok().cloned();
    data.insert(RequestData { auth, request_id, client_address });
    data.insert(LazyLoaders::new(&app.db, viewer, keep));
}

/// Runs a checked batch for its viewer, and writes the access log before answering.
/// Who sends a request: their credentials, the request's id, and their address.
struct Caller {
    authorization: Option<String>,
    request_id: String,
    address: Option<std::net::IpAddr>,
}

/// The client's address: the last entry of the configured header (the one the proxy in front of
/// Inzage added), or the connection's peer address.
fn client_address(app: &App, request: &Request) -> Option<std::net::IpAddr> {
    match &app.settings.client_address_header {
        Some(name) => {
            let value = request.headers().get_all(name.as_str()).iter().next_back()?.to_str().ok()?;
            value.rsplit(',').next()?.trim().parse().ok()
        }
        None => request
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|connected| connected.0.ip()),
    }
}

async fn execute(app: &App, mut batch: BatchRequest, caller: Caller, media: MediaType) -> Response {
    let Caller { authorization, request_id, address } = caller;
    if let BatchRequest::Batch(operations) = &batch
        && operations.len() > app.settings.max_batch
    {
        let error = ServerError::new(
            format!(
                "a batch may hold at most {} operations, this one holds {}",
                app.settings.max_batch,
                operations.len()
            ),
            None,
        );
        return finish(BatchResponse::Single(async_graphql::Response::from_errors(vec![error])), &request_id, media);
    }
    // Checked before authentication: a refused document costs no database round trip.
    for operation in batch.iter_mut() {
        if let Err(error) = app.limits.check(operation) {
            return finish(
                BatchResponse::Single(async_graphql::Response::from_errors(vec![error])),
                &request_id,
                media,
            );
        }
    }

    let auth = authenticate(app.db.conn(), &app.verifier, authorization.as_deref()).await;
    let read_log = match &auth {
        Authentication::Viewer(viewer) => {
            tracing::Span::current().record("user_id", tracing::field::display(viewer.user_id));
            Some(Arc::new(ReadLog::new(viewer.clone(), app.clock.now(), request_id.clone())))
        }
        _ => None,
    };
    let roots: Vec<Option<RootFields>> = batch.iter_mut().map(RootFields::of).collect();
    for (operation, root) in batch.iter_mut().zip(&roots) {
        let keep = if root.as_ref().is_some_and(RootFields::is_query) { Keep::ForTheOperation } else { Keep::Nothing };
        add_request_data(&mut operation.data, app, auth.clone(), request_id.clone(), address, keep);
        if let Some(log) = &read_log {
            operation.data.insert(log.clone());
        }
    }
    let documents: Vec<(String, Option<String>)> =
        batch.iter().map(|operation| (operation.query.clone(), operation.operation_name.clone())).collect();
    let started = std::time::Instant::now();
    let mut response = app.schema.execute_batch(batch).await;
    let elapsed = started.elapsed();
    let responses: Vec<&async_graphql::Response> = match &response {
        BatchResponse::Single(single) => vec![single],
        BatchResponse::Batch(many) => many.iter().collect(),
    };
    for (root, single) in roots.iter().zip(responses) {
        if let Some(root) = root {
            app.metrics.operation(root, single, elapsed);
        }
    }
    let responses: Vec<&mut async_graphql::Response> = match &mut response {
        BatchResponse::Single(single) => vec![single],
        BatchResponse::Batch(many) => many.iter_mut().collect(),
    };
    for ((query, operation), single) in documents.iter().zip(responses) {
        crate::graphql::completion::complete(crate::graphql::completion::served(), query, operation.as_deref(), single);
    }
    // No client data leaves without its access-log rows: if they cannot be written, the
    // answer is withheld.
    if let Some(log) = read_log
        && let Err(err) = log.flush(&app.db).await
    {
        tracing::error!(error = %err, "writing the access log failed; the response is withheld");
        let mut error = ServerError::new("internal error", None);
        let mut extensions = async_graphql::ErrorExtensionValues::default();
        extensions.set("code", "INTERNAL_SERVER_ERROR");
        error.extensions = Some(extensions);
        return finish(BatchResponse::Single(async_graphql::Response::from_errors(vec![error])), &request_id, media);
    }
    finish(response, &request_id, media)
}

/// Gives every error a code (those raised before any resolver, such as parse, validation and
/// limit errors, are the client's: `BAD_USER_INPUT`) and internal errors the request id, and
/// answers in `media`. A request error (the operation did not run) has no `data`, and under
/// `application/graphql-response+json` it is `400`; under `application/json` it stays `200`.
fn finish(mut response: BatchResponse, request_id: &str, media: MediaType) -> Response {
    let responses: Vec<&mut async_graphql::Response> = match &mut response {
        BatchResponse::Single(single) => vec![single],
        BatchResponse::Batch(many) => many.iter_mut().collect(),
    };
    for single in responses {
        for error in &mut single.errors {
            let extensions = error.extensions.get_or_insert_with(Default::default);
            match extensions.get("code") {
                None => extensions.set("code", "BAD_USER_INPUT"),
                Some(code) if code == &async_graphql::Value::from("INTERNAL_SERVER_ERROR") => {
                    extensions.set("requestId", request_id)
                }
                Some(_) => {}
            }
        }
    }
    let (status, body) = match &response {
        BatchResponse::Single(single) => {
            let refused = is_request_error(single) && media == MediaType::GraphqlResponse;
            (if refused { StatusCode::BAD_REQUEST } else { StatusCode::OK }, body_of(single))
        }
        BatchResponse::Batch(many) => {
            let bodies: Vec<Vec<u8>> = many.iter().map(body_of).collect();
            let mut body = b"[".to_vec();
            body.extend(bodies.join(&b","[..]));
            body.push(b']');
            (StatusCode::OK, body)
        }
    };
    let mut answer = (status, body).into_response();
    answer.headers_mut().insert(header::CONTENT_TYPE, media.content_type());
    answer
}

/// Whether the operation never ran: errors before execution (parse, validation, variables,
/// limits) carry no path and leave no data.
fn is_request_error(response: &async_graphql::Response) -> bool {
    !response.errors.is_empty()
        && matches!(response.data, async_graphql::Value::Null)
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// The JSON of one response, its keys in the order of the query; without `data` when the
/// operation never ran.
fn body_of(response: &async_graphql::Response) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Refused<'a> {
        errors: &'a [ServerError],
    }
    let body = if is_request_error(response) {
        serde_json::to_vec(&Refused { errors: &response.errors })
    } else {
        serde_json::to_vec(response)
    };
    body.unwrap_or_else(|err| {
        tracing::error!(error = %err, "a response could not be serialised");
        br#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}"#.to_vec()
    })
}

fn graphiql(app: &App) -> Response {
    if !app.settings.graphiql_enabled() {
        return refusal(StatusCode::NOT_FOUND, "NOT_FOUND", "GraphiQL is turned off (INZAGE_GRAPHIQL)");
    }
    graphiql::page()
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers, every migration is applied, and there are keys to check tokens with.
async fn readyz(State(app): State<Arc<App>>) -> Response {
    let check = tokio::time::timeout(Duration::from_secs(2), app.db.is_migrated()).await;
    let (status, database, migrations) = match check {
        Ok(Ok(true)) => (StatusCode::OK, "up", "applied"),
        Ok(Ok(false)) => (StatusCode::SERVICE_UNAVAILABLE, "up", "pending"),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "down", "unknown")
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "timeout", "unknown"),
    };
    let (status, keys) = match app.verifier.has_keys() {
        true => (status, "loaded"),
        false => (StatusCode::SERVICE_UNAVAILABLE, "missing"),
    };
    (status, Json(json!({ "database": database, "migrations": migrations, "keys": keys }))).into_response()
}

/// Prometheus metrics.
async fn metrics(State(app): State<Arc<App>>) -> Response {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], app.metrics.render()).into_response()
}
