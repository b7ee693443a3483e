//! Notifications to people. For now: e-mail through a durable outbox.

pub mod mail;
