//! Brigade's API, exercised the way clients use it. Runs on SQLite by default; set
//! BRIGADE_TEST_DATABASE_URL / BRIGADE_TEST_REDIS_URL to run the same tests on PostgreSQL and Redis.

mod harness;

mod auth;
mod backup;
mod cancellation;
mod channel_orders;
mod conventions;
mod crm;
mod forecasting;
mod inventory;
mod jobs;
mod kitchen;
mod mail;
mod menus;
mod monitoring;
mod openapi;
mod ops;
mod orders;
mod permissions;
mod purchasing;
mod redis_outage;
mod reservations;
mod restaurants;
mod scenario;
mod scopes;
mod shared_backends;
mod stock_files;
mod venues;
mod web;
mod workspace;
