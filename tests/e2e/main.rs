//! Inzage's end-to-end tests, one module per area, in one test binary: each binary would link
//! the whole service again. Every test starts a real server on a free port over a fresh database
//! (`inzage_testkit`) and talks to it as a client would.

mod access_holders;
mod accounts;
mod auth;
mod browser;
mod cli;
mod client_access;
mod conformance;
mod email;
mod emergency;
mod faults;
mod fuzz;
mod groups;
mod hostile;
mod http;
mod instances;
mod interop;
mod isolation;
mod jwt;
mod links;
mod links_work;
mod notifications;
mod oidc;
mod operations;
mod ordering;
mod people;
mod registrations;
mod retention;
mod round_trips;
mod scheduler;
mod schema;
mod sealing;
mod subscriptions;
mod teams;
mod tools_news;
mod trajectories;
mod workflows;
