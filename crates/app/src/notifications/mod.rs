//! Notifications to people: in-app notifications with live delivery ([`inbox`], [`routes`]) and e-mail
//! through a durable outbox ([`mail`]).

pub mod inbox;
pub mod mail;
pub mod routes;
