//! GraphiQL on `GET /graphql`, with everything its page loads served from the binary itself on
//! `GET /graphql/assets/{file}`, so that it works on networks without the internet.
//!
//! The assets are the npm packages' own files, unchanged and pinned (GraphiQL's UMD build,
//! React's and ReactDOM's UMD production builds, graphql-ws's UMD build), kept with their
//! licences in `api/assets/graphiql/` and fetched by `scripts/update-graphiql-assets`. Each file
//! is named with its package's version, so a new version is a new name and the files can be
//! cached as immutable.
//!
//! The page (`graphiql.html`) brings its own fetcher: queries and mutations are POSTed with the
//! headers of GraphiQL's *Headers* tab; subscriptions go over `/graphql/ws` (graphql-transport-ws)
//! with those headers as the `connection_init` payload, which GraphiQL's own `createFetcher`
//! does not do.

use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The page. It names the assets by their paths on this server (`/graphql/assets/…`).
const PAGE: &str = include_str!("graphiql.html");

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// Versioned names never change content: browsers keep them for a year without asking again.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A file served on `/graphql/assets/{name}`.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// `name => content type`, each embedded from `api/assets/graphiql/<name>`.
macro_rules! assets {
    ($($name:literal => $content_type:expr),* $(,)?) => {
        &[$(Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../../assets/graphiql/", $name)),
        }),*]
    };
}

static ASSETS: &[Asset] = assets! {
    "graphiql-3.9.0.min.js" => JAVASCRIPT,
    "graphiql-3.9.0.min.css" => CSS,
    "graphiql-3.9.0.LICENSE" => TEXT,
    "react-18.3.1.production.min.js" => JAVASCRIPT,
    "react-18.3.1.LICENSE" => TEXT,
    "react-dom-18.3.1.production.min.js" => JAVASCRIPT,
    "react-dom-18.3.1.LICENSE" => TEXT,
    "graphql-ws-6.4.2.min.js" => JAVASCRIPT,
    "graphql-ws-6.4.2.LICENSE" => TEXT,
};

const NOSNIFF: (HeaderName, HeaderValue) = (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));

/// The GraphiQL page. Not cached without asking: a new release's page names new assets.
pub fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            NOSNIFF,
        ],
        PAGE,
    )
        .into_response()
}

/// `GET /graphql/assets/{file}`: an embedded asset, or 404.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|asset| asset.name == file) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
                NOSNIFF,
            ],
            asset.body,
        )
            .into_response(),
        None => {
            (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, HeaderValue::from_static(TEXT)), NOSNIFF], "no such asset")
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values of every `src="…"` and `href="…"` attribute of the page.
    fn references() -> Vec<&'static str> {
        let mut found = Vec::new();
        for attribute in ["src=\"", "href=\""] {
            let mut rest = PAGE;
            while let Some(start) = rest.find(attribute) {
                rest = &rest[start + attribute.len()..];
                let end = rest.find('"').expect("a closing quote");
                found.push(&rest[..end]);
                rest = &rest[end..];
            }
        }
        found
    }

    #[test]
    fn the_page_loads_exactly_the_embedded_scripts_and_styles() {
        let mut loaded: Vec<&str> =
            references().into_iter().filter_map(|reference| reference.strip_prefix("/graphql/assets/")).collect();
        loaded.sort_unstable();
        let mut embedded: Vec<&str> =
            ASSETS.iter().filter(|asset| asset.content_type != TEXT).map(|asset| asset.name).collect();
        embedded.sort_unstable();
        assert_eq!(loaded, embedded);
    }

    #[test]
    fn the_page_names_no_other_server() {
        for needle in ["http://", "https://", "//"] {
            assert!(!PAGE.contains(needle), "the page contains {needle:?}");
        }
        for reference in references() {
            assert!(reference.starts_with("/graphql/assets/") || reference == "data:,", "{reference}");
        }
    }

    #[test]
    fn every_licence_is_served_and_named_on_the_page() {
        let licences: Vec<&Asset> = ASSETS.iter().filter(|asset| asset.content_type == TEXT).collect();
        assert_eq!(licences.len(), 4);
        for licence in licences {
            let text = std::str::from_utf8(licence.body).expect("text");
            assert!(text.contains("MIT License") && text.contains("Permission is hereby granted"), "{}", licence.name);
            assert!(PAGE.contains(&format!("/graphql/assets/{}", licence.name)), "{}", licence.name);
        }
    }
}
