//! Black-box tests of the Switchboard server: each test starts the real server on port 0 over
//! its own database and talks HTTP to it (the crash-recovery tests run the real binary).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod approvals;
mod auth;
mod auto_answer;
mod bad_hooks;
mod browser;
mod cases;
mod chat;
mod chat_away;
mod chat_files;
mod cli;
mod config;
mod contacts;
mod email;
mod experts;
mod export;
mod helpers;
mod kb;
mod learning;
mod lifecycle;
mod merge;
mod model_cli;
mod models;
mod notify;
mod ops;
mod outbound;
mod people;
mod pg;
mod provider;
mod recovery;
mod referral;
mod regressions;
mod reports;
mod routing;
mod sentiment_models;
mod social;
mod stream;
mod understanding;
mod webhook;
mod workspace;
