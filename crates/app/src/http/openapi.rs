//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Brigade API",
        description = "Restaurant operations: accounts, restaurants, ordering, monitoring and analytics. \
            Every response is an envelope `{success, data, message, errors}`; errors add a stable `code`. \
            Lists take `page` and `per_page` (at most 100) and answer `{items, pagination}`.",
        version = env!("CARGO_PKG_VERSION"),
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign-in, tokens, profile, API keys"),
        (name = "users", description = "Accounts (administrators)"),
        (name = "restaurants", description = "The shared restaurant records, hours and members"),
        (name = "venues", description = "Venues (the shared restaurants), logos, QR codes, stocked venues"),
        (name = "menus", description = "Venue menus: categories and items"),
        (name = "orders", description = "Orders, their status machine and history, payments"),
        (name = "reservations", description = "Time slots, availability and reservations"),
        (name = "notifications", description = "In-app notifications and live streams"),
        (name = "monitoring", description = "Store monitoring: status polls, uptime/downtime reports, incidents"),
        (name = "channel-orders", description = "Orders from delivery channels: ingest, status updates, the status-code mapping, signatures"),
        (name = "analytics", description = "Order analytics: time in status, throughput, orders per customer, rollups"),
        (name = "crm", description = "KAM CRM: leads, contacts, interactions, call planning, reassignment, performance, CSV import"),
    ),
    components(schemas(super::error::ErrorBody, super::envelope::PageNumber, super::envelope::PerPage))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            super::access::BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from /api/auth/login (acts with the account's full rights).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            super::access::API_KEY,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("brg_ API key")
                    .description(Some(
                        "An API key from /api/auth/api-keys, sent as `Authorization: Bearer brg_...`. \
                         An operation that lists this scheme names the one scope a key needs; an \
                         operation that does not list it refuses keys (403 `api_key_not_allowed`).",
                    ))
                    .build(),
            ),
        );
    }
}
