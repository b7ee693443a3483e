//! Order analytics: orders from delivery channels (ingest, status updates, the code → state mapping,
//! signatures), the summary tables written from the status-event stream, and the questions they answer.
//!
//! Facade: [`channel::ingest`], [`channel::add_status`], [`rollup::catch_up`], [`queries`].

pub mod answers;
pub(crate) mod bulk;
pub mod channel;
pub mod grouped;
pub mod histogram;
pub mod import;
pub mod queries;
pub mod rollup;
pub mod routes;
