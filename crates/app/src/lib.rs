//! Brigade's application crate: one module per domain, each with a small public facade, plus the HTTP
//! edge and the web pages. See ARCHITECTURE.md for the map.

// `ApiError` carries field errors, a retry hint and the cause: large, but only on the cold error path,
// where boxing it would buy nothing measurable.
#![allow(clippy::result_large_err)]

pub mod accounts;
pub mod analytics;
pub mod backup;
pub mod crm;
pub mod csv_lines;
pub mod database;
pub mod demo;
pub mod entities;
pub mod forecasting;
pub mod http;
pub mod inventory;
pub mod jobs;
pub mod kitchen;
pub mod menus;
pub mod money;
pub mod monitoring;
pub mod notifications;
pub mod orders;
pub mod reservations;
pub mod restaurants;
pub mod server;
pub mod state;
pub mod storage;
pub mod venues;
pub mod web;

pub use state::{AppState, StartupError, StateOptions};
