//! HTTP: `POST /graphql`, GraphiQL on `GET /graphql`, `/healthz` and `/readyz`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use async_graphql::{BatchRequest, BatchResponse, ServerError};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse};
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::app::App;
use crate::audit::ReadLog;
use crate::auth::{Authentication, authenticate};
use crate::graphql::{LazyLoaders, RequestData};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The service's routes.
pub fn router(app: Arc<App>) -> Router {
    let body_limit = app.settings.max_body_bytes;
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(crate::ws::upgrade))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(app)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Serves `router` on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app)).with_graceful_shutdown(shutdown).await
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

async fn graphql(State(app): State<Arc<App>>, request: Request) -> Response {
    if !is_json(request.headers()) {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "POST /graphql takes a JSON body (Content-Type: application/json)",
        )
            .into_response();
    }
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let authorization =
        request.headers().get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or("")).map(str::to_owned);
    let batch = match GraphQLBatchRequest::<async_graphql_axum::rejection::GraphQLRejection>::from_request(request, &())
        .await
    {
        Ok(batch) => batch.into_inner(),
        Err(rejection) => return rejection.into_response(),
    };
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
        return finish(BatchResponse::Single(async_graphql::Response::from_errors(vec![error])), &request_id);
    }

    let auth = authenticate(app.db.conn(), &app.verifier, authorization.as_deref()).await;
    let read_log = match &auth {
        Authentication::Viewer(viewer) => {
            Some(Arc::new(ReadLog::new(viewer.clone(), app.clock.now(), request_id.clone())))
        }
        _ => None,
    };
    let mut batch = batch;
    for operation in batch.iter_mut() {
        operation.data.insert(RequestData { auth: auth.clone(), request_id: request_id.clone() });
        operation.data.insert(LazyLoaders::new(&app.db));
        if let Some(log) = &read_log {
            operation.data.insert(log.clone());
        }
    }
    let response = app.schema.execute_batch(batch).await;
    // No client data leaves without its access-log rows: if they cannot be written, the
    // answer is withheld.
    if let Some(log) = read_log
        && let Err(err) = log.flush(app.db.conn()).await
    {
        tracing::error!(error = %err, "writing the access log failed; the response is withheld");
        let mut error = ServerError::new("internal error", None);
        let mut extensions = async_graphql::ErrorExtensionValues::default();
        extensions.set("code", "INTERNAL_SERVER_ERROR");
        error.extensions = Some(extensions);
        return finish(BatchResponse::Single(async_graphql::Response::from_errors(vec![error])), &request_id);
    }
    finish(response, &request_id)
}

/// Gives every error a code (those raised before any resolver, such as parse, validation and
/// limit errors, are the client's: `BAD_USER_INPUT`) and internal errors the request id.
fn finish(mut response: BatchResponse, request_id: &str) -> Response {
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
    GraphQLResponse::from(response).into_response()
}

async fn graphiql(State(app): State<Arc<App>>) -> Response {
    if !app.settings.graphiql {
        return (StatusCode::NOT_FOUND, "GraphiQL is turned off (INZAGE_GRAPHIQL=false)").into_response();
    }
    Html(GraphiQLSource::build().endpoint("/graphql").subscription_endpoint("/graphql/ws").finish()).into_response()
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers and every migration is applied.
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
    (status, Json(json!({ "database": database, "migrations": migrations }))).into_response()
}
