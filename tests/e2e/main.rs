//! End-to-end tests: the built `newswire` binary against a local HTTP server
//! serving fixture feeds, writing to a temporary store.

mod api;
mod archives;
mod browser;
mod cli;
mod clusters;
mod console;
mod daemon;
mod faults;
mod harness;
mod hostile;
mod logs;
mod metrics;
mod pages;
mod pipeline;
mod proxy;
mod records;
mod retention;
mod scaling;
mod server;
mod webhook;
