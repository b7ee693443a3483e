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
        (name = "forecasting", description = "Demand forecasts from backtested, versioned models with fallbacks; the model registry; closure calendars"),
        (name = "kitchen", description = "Stations, routing of menu items to stations, ticket lines and the kitchen display's actions"),
        (name = "inventory", description = "Ingredients, recipes (dishes' with cost and margin, and made ingredients'), batches, every stock movement (receipts, consumption by completed orders, stocktakes, waste, transfers, production), CSV import and export, suppliers and purchase orders"),
    ),
    components(schemas(super::error::ErrorBody, super::envelope::PageNumber, super::envelope::PerPage,
        TimeZoneName, TimeZoneOrNone, CurrencyCode, TimeOfDay, Weekday, WeekdayInput, EmailOrBlank,
        // Types of query parameters: utoipa refers to them but collects only body and answer schemas.
        crate::analytics::routes::TzChoice, crate::analytics::routes::ByChoice,
        crate::analytics::routes::IntervalChoice, crate::analytics::routes::TopCustomers,
        crate::analytics::routes::RangeEnd, crate::crm::routes::CallLimit,
        crate::monitoring::routes::UptimeDays, crate::notifications::routes::ReadState,
        crate::notifications::inbox::Kind, crate::restaurants::routes::RestaurantSort,
        crate::venues::routes::ImageFormat, crate::venues::routes::QrSize,
        crate::inventory::routes::MovementKindFilter, crate::inventory::routes::WasteDays))
)]
pub struct ApiDoc;

/// The document's names for strings the server checks against a list or a shape, so clients (and the
/// contract test) know exactly what is accepted. Fields keep their Rust type and say
/// `#[schema(value_type = TimeZoneName)]`.
macro_rules! string_schema {
    ($name:ident, $doc:literal, $build:expr) => {
        #[doc = $doc]
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let build: fn() -> utoipa::openapi::schema::ObjectBuilder = $build;
                build().description(Some($doc)).into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

fn string() -> utoipa::openapi::schema::ObjectBuilder {
    utoipa::openapi::schema::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::String)
}

string_schema!(
    TimeZoneName,
    "An IANA time zone name, such as Europe/London.",
    || {
        string()
            .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())))
            .examples(["Europe/London"])
    }
);
string_schema!(
    TimeZoneOrNone,
    "An IANA time zone name, or an empty string for none.",
    || {
        string()
            .enum_values(Some(
                std::iter::once("").chain(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())),
            ))
            .examples(["Asia/Kolkata"])
    }
);
string_schema!(
    CurrencyCode,
    "An ISO 4217 currency code Brigade supports.",
    || {
        string()
            .enum_values(Some(crate::money::Currency::codes()))
            .examples(["GBP"])
    }
);
string_schema!(TimeOfDay, "A local time of day, HH:MM or HH:MM:SS.", || {
    string()
        .pattern(Some(
            r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?$",
        ))
        .examples(["18:30"])
});

/// An e-mail address, or blank text (which clears the field).
pub struct EmailOrBlank;

impl utoipa::PartialSchema for EmailOrBlank {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, SchemaFormat};
        AnyOfBuilder::new()
            .item(
                string()
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
                    .max_length(Some(254)),
            )
            .item(string().pattern(Some(r"^\s*$")))
            .description(Some("An e-mail address, or blank text (which clears it)."))
            .into()
    }
}

impl utoipa::ToSchema for EmailOrBlank {}

/// A day of the week as a time slot takes it: 0 = Monday to 6 = Sunday, or MON to SUN.
pub struct WeekdayInput;

impl utoipa::PartialSchema for WeekdayInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0))
                    .maximum(Some(6)),
            )
            .item(string().enum_values(Some(["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"])))
            .description(Some("0 = Monday to 6 = Sunday, or MON to SUN."))
            .into()
    }
}

impl utoipa::ToSchema for WeekdayInput {}

/// A day of the week, 0 = Monday to 6 = Sunday.
pub struct Weekday;

impl utoipa::PartialSchema for Weekday {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .minimum(Some(0))
            .maximum(Some(6))
            .description(Some("A day of the week, 0 = Monday to 6 = Sunday."))
            .into()
    }
}

impl utoipa::ToSchema for Weekday {}

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
                        "An API key from /api/auth/api-keys, sent as `Authorization: Bearer brg_...` (or in the \
                         `X-API-Key` header). \
                         An operation that lists this scheme names the one scope a key needs; an \
                         operation that does not list it refuses keys (403 `api_key_not_allowed`).",
                    ))
                    .build(),
            ),
        );
    }
}

/// Document, on every operation, the refusals the shared mechanisms can give whatever the handler
/// does, so the document is the contract: the extractors (400 for a malformed path or JSON body, 415
/// for a body that is not JSON, 422 for a field or parameter that does not validate), the access layer
/// (401 for a missing or bad credential, 403 for a role or scope refused), 404 for an unknown id in the
/// path, the body limit (413), rate limits (429) and the timeout (408). A handler's own, more specific
/// description of the same status is kept.
pub fn document_shared_refusals(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{Operation, ParameterIn};
    use utoipa::openapi::{RefOr, ResponseBuilder};
    let error = || -> RefOr<utoipa::openapi::Response> {
        ResponseBuilder::new()
            .description("")
            .content(
                "application/json",
                utoipa::openapi::content::ContentBuilder::new()
                    .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                        "ErrorBody",
                    ))))
                    .build(),
            )
            .build()
            .into()
    };
    let add = |op: &mut Operation, status: &str, description: &str| {
        if !op.responses.responses.contains_key(status) {
            let mut response = error();
            if let RefOr::T(r) = &mut response {
                r.description = description.to_string();
            }
            op.responses.responses.insert(status.to_string(), response);
        }
    };
    for item in doc.paths.paths.values_mut() {
        let ops = [
            (true, &mut item.get),
            (false, &mut item.put),
            (false, &mut item.post),
            (false, &mut item.delete),
            (false, &mut item.patch),
        ];
        for (is_read, op) in ops {
            let Some(op) = op else { continue };
            let params: Vec<(ParameterIn, bool)> = op
                .parameters
                .iter()
                .flatten()
                .filter_map(|p| match p {
                    RefOr::T(p) => Some((
                        p.parameter_in.clone(),
                        matches!(p.required, utoipa::openapi::Required::True),
                    )),
                    RefOr::Ref(_) => None,
                })
                .collect();
            let in_path = params.iter().any(|(at, _)| *at == ParameterIn::Path);
            let in_query = params.iter().any(|(at, _)| *at == ParameterIn::Query);
            let body_types: Vec<String> = match &op.request_body {
                Some(RefOr::T(body)) => body.content.keys().cloned().collect(),
                _ => Vec::new(),
            };
            let security = serde_json::to_value(&op.security).unwrap_or_default();
            let signed_in = security.as_array().is_some_and(|reqs| {
                reqs.iter()
                    .any(|r| r.as_object().is_some_and(|o| !o.is_empty()))
            });
            if in_path || body_types.iter().any(|t| t.contains("json")) {
                add(
                    op,
                    "400",
                    "Malformed: an id in the path that is not one, or a body that is not JSON (`invalid_path`, `invalid_json`)",
                );
            }
            if signed_in {
                add(
                    op,
                    "401",
                    "Missing, malformed, expired or revoked credentials",
                );
                add(
                    op,
                    "403",
                    "Signed in, but not allowed: the role, membership or API-key scope does not admit this (`forbidden`, `insufficient_scope`, `api_key_not_allowed`)",
                );
            }
            let names_an_id = op.parameters.iter().flatten().any(|p| match p {
                RefOr::T(p) => p.parameter_in == ParameterIn::Query && p.name.ends_with("id"),
                RefOr::Ref(_) => false,
            });
            if in_path || names_an_id || !body_types.is_empty() {
                add(
                    op,
                    "404",
                    "Something the request names does not exist (or the caller may not see it)",
                );
            }
            if !is_read {
                add(
                    op,
                    "409",
                    "Conflicts with what is stored (a unique field already used, a state that does not allow it)",
                );
            }
            if !body_types.is_empty() {
                add(op, "413", "The body is over the size limit");
                add(op, "415", "The body is not of the declared content type");
            }
            if !body_types.is_empty() || in_query || in_path {
                add(
                    op,
                    "422",
                    "A field or parameter does not validate (`validation_failed`, `errors` names it)",
                );
            }
            add(op, "408", "The request took longer than the time limit");
            add(
                op,
                "429",
                "Rate limited; `Retry-After` says when to try again",
            );
        }
    }
}

/// Creating a record takes the body of changing it, with some fields required: (the create operation's
/// path, the change schema, the name of the create schema, the required fields). The create schemas are
/// derived from the change schemas by [`derive_create_bodies`], so the two cannot drift apart.
const CREATE_BODIES: &[(&str, &str, &str, &[&str])] = &[
    (
        "/api/restaurants",
        "RestaurantInput",
        "NewRestaurantInput",
        &["name", "timezone"],
    ),
    (
        "/api/venues",
        "RestaurantInput",
        "NewRestaurantInput",
        &["name", "timezone"],
    ),
    (
        "/api/venues/{venue_id}/menu/categories",
        "CategoryInput",
        "NewCategoryInput",
        &["name"],
    ),
    (
        "/api/venues/{venue_id}/menu/items",
        "ItemInput",
        "NewItemInput",
        &["category_id", "name", "price"],
    ),
    (
        "/api/venues/{venue_id}/stations",
        "StationInput",
        "NewStationInput",
        &["name"],
    ),
    (
        "/api/venues/{venue_id}/time-slots",
        "TimeSlotInput",
        "NewTimeSlotInput",
        &["weekday", "start_time", "end_time", "max_reservations"],
    ),
    (
        "/api/crm/restaurants/{id}/contacts",
        "ContactInput",
        "NewContactInput",
        &["name", "phone", "role"],
    ),
];

/// For each entry of [`CREATE_BODIES`]: the change schema copied under the create name with its required
/// fields no longer nullable, and the create operation's JSON body pointed at it.
pub fn derive_create_bodies(doc: &mut utoipa::openapi::OpenApi) {
    let mut value = serde_json::to_value(&*doc).expect("the document serializes");
    for (path, source, name, required) in CREATE_BODIES {
        let mut schema = value["components"]["schemas"][source].clone();
        assert!(schema.is_object(), "{source} is not in the document");
        for field in *required {
            let property = &mut schema["properties"][field];
            assert!(property.is_object(), "{source} has no field {field}");
            *property = not_null(property.take());
        }
        schema["required"] = serde_json::json!(required);
        value["components"]["schemas"][name] = schema;
        let body = &mut value["paths"][path]["post"]["requestBody"]["content"]["application/json"];
        assert!(body.is_object(), "POST {path} takes no JSON body");
        body["schema"] = serde_json::json!({ "$ref": format!("#/components/schemas/{name}") });
    }
    *doc = serde_json::from_value(value).expect("the document reads back");
}

/// A property schema without its `null` alternative: `"type": ["string", "null"]` becomes `"string"`,
/// `"oneOf": [{"$ref": ...}, {"type": "null"}]` the reference itself.
fn not_null(mut property: serde_json::Value) -> serde_json::Value {
    let null = serde_json::json!("null");
    if let Some(types) = property["type"].as_array() {
        let kept: Vec<_> = types.iter().filter(|t| **t != null).cloned().collect();
        property["type"] = match kept.as_slice() {
            [one] => one.clone(),
            _ => serde_json::Value::Array(kept),
        };
        return property;
    }
    if let Some(choices) = property["oneOf"].as_array() {
        let kept: Vec<_> = choices
            .iter()
            .filter(|c| c["type"] != null)
            .cloned()
            .collect();
        if let [one] = kept.as_slice() {
            return one.clone();
        }
        property["oneOf"] = serde_json::Value::Array(kept);
    }
    property
}
