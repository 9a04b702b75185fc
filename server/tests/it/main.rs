//! The server's integration tests, in one test binary: each binary links the whole server, so one
//! binary builds and links it once. One module per area:
//!
//! - `api`: the JSON endpoints through the real router on a real socket;
//! - `metrics` and `otlp`: what operators watch, from the real binary;
//! - `no_js`: the page without JavaScript, the sign-in and account pages, the response headers;
//! - `http`: start-up and shutdown of the real application;
//! - `malformed`: malformed bytes to every endpoint, never a 5xx;
//! - `cli`: the operator's command line, run as the real binary;
//! - `database`: the schema and the seed on SQLite and PostgreSQL;
//! - `dkim`: signed mail, checked by an independent verifier;
//! - `reset`: the services behind the page, called directly with a manual clock;
//! - `faults`: the real binary and the real server under faults.
//!
//! `helpers` holds the fixtures: [`helpers::TestApp`] (the real server on a random port with an
//! HTTP client), the test databases, an SMTP relay and a TCP relay a test can cut.
//!
//! All tests share one process: none may set environment variables or change the current
//! directory (settings go to the server through [`helpers::config_with`], and to a child process
//! through its `Command`), and process-wide hooks must tell their own test's threads from the
//! others' (see `malformed`). Run one area with `cargo test -p server --test it -- faults::`.

mod api;
mod cli;
mod database;
mod dkim;
mod faults;
mod helpers;
mod http;
mod malformed;
mod metrics;
mod no_js;
mod otlp;
mod reset;
