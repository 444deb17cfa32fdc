//! Inzage: who may see what about a client of a care platform, decided field by field, as a
//! GraphQL API.
//!
//! Data flows one way: request -> [`auth`] (the viewer) -> [`graphql`] resolver -> [`domain`]
//! operation -> [`policy`] decision -> response. Resolvers hold no rules, the policy does no I/O,
//! and the domain knows nothing of GraphQL.

pub mod access;
pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod mailer;
pub mod metrics;
pub mod policy;
pub mod ratelimit;
pub mod retention;
pub mod scheduler;
pub mod sealing;

pub use app::App;
pub use config::{Cli, Settings};
