//! Subscriptions over WebSocket on `/graphql/ws`: `graphql-transport-ws` and the legacy
//! `graphql-ws` protocol.
//!
//! The connection is authenticated before any operation runs, from the `connection_init`
//! payload (`{"authorization": "Bearer <jwt>"}` or `{"token": "<jwt>"}`) or the upgrade
//! request's `Authorization` header. Close codes: 4403 for a missing, bad or expired token or a
//! deactivated account; 4408 when `connection_init` does not come in time; 4429 for a client
//! that stops reading (a message waited `INZAGE_WS_SEND_TIMEOUT_SECONDS` for the socket); 4410 when the account's roles changed; 1001 when the server shuts
//! down. The server closes a connection itself the moment its token expires, its account is
//! deactivated or its roles change.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::Data;
use std::str::FromStr;

use async_graphql::http::{ClientMessage, WebSocket as GraphqlWebSocket, WebSocketProtocols as Protocols, WsMessage};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt, stream};

use crate::app::App;
use crate::auth::{Authentication, authenticate_token, bearer_token};
use crate::events::{CLOSE_FORBIDDEN, CLOSE_TOO_SLOW, Kick};
use crate::graphql::Keep;
use crate::graphql::LiveConnection;
use crate::metrics::Open;

/// Close code when `connection_init` does not arrive in time.
pub const CLOSE_INIT_TIMEOUT: u16 = 4408;
/// Close code for a malformed first message.
pub const CLOSE_BAD_REQUEST: u16 = 4400;
/// Close code when the server shuts down; clients reconnect (to another instance).
pub const CLOSE_GOING_AWAY: u16 = 1001;
const SHUTTING_DOWN: &str = "the server is shutting down";

/// Upgrades to a GraphQL WebSocket after checking the `Origin`.
pub async fn upgrade(State(app): State<Arc<App>>, headers: HeaderMap, upgrade: WebSocketUpgrade) -> Response {
    // The client's first supported protocol; graphql-transport-ws when it names none.
    let protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .and_then(|offered| offered.split(',').find_map(|p| Protocols::from_str(p.trim()).ok()))
        .unwrap_or(Protocols::GraphQLWS);
    if !origin_allowed(&app, &headers) {
        return (StatusCode::FORBIDDEN, "this Origin may not open subscriptions").into_response();
    }
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token)
        .map(str::to_owned);
    upgrade
        // Subscribers mostly listen, and what they send is small (connection_init, subscribe,
        // ping): a small read buffer keeps an idle connection's memory low (it grows for a
        // larger message). Each frame is written as it is sent, rather than gathered in a
        // buffer first (a notification should leave at once anyway).
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(app, socket, protocol, header_token))
}

/// Whether a browser page from this `Origin` may connect. Requests without `Origin` come from
/// programs, not pages, and are allowed.
fn origin_allowed(app: &App, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    app.settings.allows_origin(origin, host)
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame { code, reason: Utf8Bytes::from(reason) };
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.send(Message::Close(Some(frame)))).await;
}

/// The payload's token: `authorization: "Bearer <jwt>"`, or `token: "<jwt>"`.
fn payload_token(payload: &serde_json::Value) -> Option<String> {
    let text = |name: &str| payload.get(name).and_then(|value| value.as_str());
    if let Some(value) = text("authorization").or_else(|| text("Authorization")) {
        return Some(bearer_token(value).unwrap_or(value).to_owned());
    }
    text("token").map(str::to_owned)
}

async fn serve(app: Arc<App>, mut socket: WebSocket, protocol: Protocols, header_token: Option<String>) {
    let _open = Open::new(&app.metrics.websockets);
    // 1. The first message must be connection_init, in time.
    let init_timeout = Duration::from_secs(app.settings.ws_init_timeout_seconds);
    let first = tokio::select! {
        first = tokio::time::timeout(init_timeout, next_text(&mut socket)) => first,
        () = app.shutdown.cancelled() => return close(&mut socket, CLOSE_GOING_AWAY, SHUTTING_DOWN).await,
    };
    let first = match first {
        Err(_) => return close(&mut socket, CLOSE_INIT_TIMEOUT, "connection initialisation timeout").await,
        Ok(None) => return,
        Ok(Some(text)) => text,
    };
    let payload = match ClientMessage::from_bytes(first.as_bytes()) {
        Ok(ClientMessage::ConnectionInit { payload }) => payload.unwrap_or_default(),
        _ => return close(&mut socket, CLOSE_BAD_REQUEST, "the first message must be connection_init").await,
    };

    // 2. Authenticate.
    let Some(token) = payload_token(&payload).or(header_token) else {
        return close(&mut socket, CLOSE_FORBIDDEN, "authentication required").await;
    };
    // Boxed: the connection's task keeps its largest state for as long as it lives.
    let (auth, expires_at) = Box::pin(authenticate_token(app.db.conn(), &app.verifier, &token)).await;
    let viewer = match &auth {
        Authentication::Viewer(viewer) => viewer.clone(),
        Authentication::Refused(reason) => return close(&mut socket, CLOSE_FORBIDDEN, reason).await,
        Authentication::Anonymous | Authentication::Unavailable => {
            return close(&mut socket, 1011, "authentication is unavailable; try again").await;
        }
    };
    let kick = Arc::new(Kick::default());
    let _connected = app.db.hub().connect(viewer.user_id, kick.clone());

    // 3. Hand the connection to async-graphql, starting with the init message it has not seen.
    let mut data = Data::default();
    // Connection-wide loaders keep nothing: a connection lives for hours. A query sent over the
    // socket gets loaders of its own that do (`CheckedSchema`).
    super::add_request_data(&mut data, &app, auth, uuid::Uuid::now_v7().to_string(), None, Keep::Nothing);
    data.insert(LiveConnection { kick: kick.clone() });
    let (mut sink, incoming) = socket.split();
    let incoming = incoming.filter_map(|message| async move {
        match message {
            Ok(Message::Text(text)) => Some(text.as_bytes().to_vec()),
            Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
            _ => None,
        }
    });
    let messages = stream::once(async move { first.into_bytes() }).chain(incoming).map(ClientMessage::from_bytes);
    let outgoing = GraphqlWebSocket::from_message_stream(app.checked_schema(), messages, protocol)
        .on_connection_init(move |_| async move { Ok(data) });
    let mut outgoing = std::pin::pin!(outgoing);

    let expiry = expires_at.map(|at| (at - chrono::Utc::now()).to_std().unwrap_or_default()).unwrap_or(Duration::MAX);
    let expiry = expiry.min(Duration::from_secs(60 * 60 * 24 * 365));
    // What ends the connection from the server's side, also while a message waits to be sent.
    // A client that stops reading fills the socket's buffers and holds the send up; nothing
    // piles up meanwhile (subscriptions read their rows only when the last ones were sent), and
    // when one message has waited the send timeout the client is closed as too slow (4429).
    let send_timeout = Duration::from_secs(app.settings.ws_send_timeout_seconds);
    let ended = async {
        tokio::select! {
            (code, reason) = kick.kicked() => (code, reason),
            () = tokio::time::sleep(expiry) => (CLOSE_FORBIDDEN, "the token has expired".to_owned()),
            () = app.shutdown.cancelled() => (CLOSE_GOING_AWAY, SHUTTING_DOWN.to_owned()),
        }
    };
    tokio::pin!(ended);
    let (code, reason) = loop {
        tokio::select! {
            message = outgoing.next() => match message {
                // In this order, so that a send that completes at once never starts its timer.
                Some(WsMessage::Text(text)) => tokio::select! {
                    biased;
                    sent = sink.send(Message::Text(text.into())) => if sent.is_err() {
                        return;
                    },
                    ended = &mut ended => break ended,
                    () = tokio::time::sleep(send_timeout) => {
                        break (CLOSE_TOO_SLOW, "messages are not read: read faster, then reconnect with `after`".to_owned());
                    }
                },
                Some(WsMessage::Close(code, reason)) => break (code, reason),
                None => break (1000, String::new()),
            },
            ended = &mut ended => break ended,
        }
    };
    let frame = CloseFrame { code, reason: Utf8Bytes::from(reason) };
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(Message::Close(Some(frame)))).await;
}

async fn next_text(socket: &mut WebSocket) -> Option<String> {
    while let Some(message) = socket.recv().await {
        match message {
            Ok(Message::Text(text)) => return Some(text.to_string()),
            Ok(Message::Binary(bytes)) => return String::from_utf8(bytes.to_vec()).ok(),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Close(_)) | Err(_) => return None,
        }
    }
    None
}
