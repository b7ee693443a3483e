//! A venue's suppliers: who it buys from, how long they take to deliver and the smallest order they
//! take. Reading them takes the venue's staff, changing them its managers.

use super::*;
use crate::entities::{purchase_orders, suppliers};
use crate::menus::currency_of;
use crate::money::Currency;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SupplierView {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Days from sending an order to its delivery.
    pub lead_time_days: i32,
    /// The smallest order it takes, in the venue's currency.
    #[schema(value_type = String, example = "150.00")]
    pub min_order: Decimal,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(super) fn supplier_view(s: suppliers::Model, currency: Currency) -> SupplierView {
    SupplierView {
        id: s.id,
        venue_id: s.restaurant_id,
        name: s.name,
        email: s.email,
        phone: s.phone,
        lead_time_days: s.lead_time_days,
        min_order: currency.from_minor(s.min_order_minor),
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

/// A supplier of the venue, or 404.
pub(super) async fn find_supplier(
    state: &AppState,
    venue_id: Uuid,
    id: Uuid,
) -> ApiResult<suppliers::Model> {
    suppliers::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|s| s.restaurant_id == venue_id)
        .ok_or_else(|| ApiError::not_found("supplier"))
}

/// A new supplier: a name, the rest as [`SupplierInput`].
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSupplier {
    #[schema(
        example = "Fresh Dairy Ltd",
        min_length = 1,
        max_length = 100,
        pattern = r"\S"
    )]
    pub name: String,
    #[schema(value_type = Option<crate::http::openapi::EmailOrBlank>)]
    pub email: Option<String>,
    #[schema(
        max_length = 40,
        pattern = r"^\s*$|^\s*\+?[ ().-]*([0-9][ ().-]*){6,15}\s*$"
    )]
    pub phone: Option<String>,
    #[schema(minimum = 0, maximum = 365)]
    pub lead_time_days: Option<i32>,
    pub min_order: Option<Amount>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplierInput {
    #[schema(
        example = "Fresh Dairy Ltd",
        min_length = 1,
        max_length = 100,
        pattern = r"\S"
    )]
    pub name: Option<String>,
    /// Where purchase orders are e-mailed; blank removes it.
    #[schema(value_type = Option<crate::http::openapi::EmailOrBlank>)]
    pub email: Option<String>,
    /// Blank removes it.
    #[schema(
        max_length = 40,
        pattern = r"^\s*$|^\s*\+?[ ().-]*([0-9][ ().-]*){6,15}\s*$"
    )]
    pub phone: Option<String>,
    /// Days from sending an order to its delivery (default 2).
    #[schema(minimum = 0, maximum = 365)]
    pub lead_time_days: Option<i32>,
    /// The smallest order it takes, in the venue's currency (default 0), with no more decimals than
    /// it has (409 otherwise).
    pub min_order: Option<Amount>,
}

impl From<NewSupplier> for SupplierInput {
    fn from(n: NewSupplier) -> Self {
        SupplierInput {
            name: Some(n.name),
            email: n.email,
            phone: n.phone,
            lead_time_days: n.lead_time_days,
            min_order: n.min_order,
        }
    }
}

fn apply_supplier(
    input: &SupplierInput,
    currency: Currency,
    active: &mut suppliers::ActiveModel,
) -> ApiResult<()> {
    let mut errors = FieldErrors::new();
    if let Some(name) = input.name.as_deref()
        && let Some(name) = errors.check("name", crate::http::text::required_text(name, 100))
    {
        active.name = Set(name);
    }
    if let Some(email) = input.email.as_deref() {
        let email = crate::http::text::trimmed(email);
        if email.is_empty() {
            active.email = Set(None);
        } else if let Some(email) =
            errors.check("email", crate::accounts::service::parse_email(email))
        {
            active.email = Set(Some(email));
        }
    }
    if let Some(phone) = input.phone.as_deref() {
        if phone.chars().count() > 40 {
            errors.add("phone", "must be at most 40 characters");
        } else if crate::http::text::trimmed(phone).is_empty() {
            active.phone = Set(None);
        } else if let Some(phone) =
            errors.check("phone", crate::accounts::service::parse_phone(phone))
        {
            active.phone = Set(Some(phone));
        }
    }
    match input.lead_time_days {
        Some(d) if !(0..=365).contains(&d) => {
            errors.add("lead_time_days", "must be between 0 and 365")
        }
        Some(d) => active.lead_time_days = Set(d),
        None => {}
    }
    let mut precision = None;
    if let Some(min) = input.min_order {
        match currency.to_minor(min.0) {
            Ok(minor) => active.min_order_minor = Set(minor),
            Err(problem) => precision = Some(problem),
        }
    }
    errors.into_result()?;
    // Well formed, but the venue's currency has fewer decimals (as menu prices).
    match precision {
        Some(problem) => Err(ApiError::conflict(
            "currency_precision",
            "the minimum order has more decimals than the venue's currency",
        )
        .with_field("min_order", problem)),
        None => Ok(()),
    }
}

async fn name_free(
    state: &AppState,
    venue_id: Uuid,
    name: &str,
    except: Option<Uuid>,
) -> ApiResult<()> {
    let mut select = suppliers::Entity::find()
        .filter(suppliers::Column::RestaurantId.eq(venue_id))
        .filter(suppliers::Column::Name.eq(name));
    if let Some(id) = except {
        select = select.filter(suppliers::Column::Id.ne(id));
    }
    if select.count(&state.db).await? > 0 {
        return Err(
            ApiError::conflict("supplier_exists", "the venue has a supplier of that name")
                .with_field("name", "is taken by another supplier of this venue"),
        );
    }
    Ok(())
}

/// The venue's suppliers by name.
#[utoipa::path(get, path = "/api/venues/{venue_id}/suppliers", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    responses(
        (status = 200, description = "Suppliers", body = Envelope<Vec<SupplierView>>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
    ))]
pub async fn list_suppliers(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
) -> ApiResult<Reply<Vec<SupplierView>>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    let currency = currency_of(&venue);
    let rows = suppliers::Entity::find()
        .filter(suppliers::Column::RestaurantId.eq(venue_id))
        .order_by_asc(suppliers::Column::Name)
        .all(&state.db)
        .await?;
    Ok(ok(rows
        .into_iter()
        .map(|s| supplier_view(s, currency))
        .collect()))
}

/// Add a supplier (venue manager or admin).
#[utoipa::path(post, path = "/api/venues/{venue_id}/suppliers", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id")),
    request_body(content = NewSupplier, example = json!({"name": "Fresh Dairy Ltd", "email": "orders@freshdairy.example", "lead_time_days": 2, "min_order": "150"})),
    responses(
        (status = 201, description = "Created", body = Envelope<SupplierView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "No such venue", body = ErrorBody),
        (status = 409, description = "A supplier of that name exists, or a minimum with more decimals than the currency", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
pub async fn create_supplier(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(venue_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<NewSupplier>,
) -> ApiResult<Reply<SupplierView>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Manager).await?;
    let currency = currency_of(&venue);
    let input = SupplierInput::from(input);
    let now = state.now();
    let mut active = suppliers::ActiveModel {
        id: Set(Uuid::now_v7()),
        restaurant_id: Set(venue_id),
        email: Set(None),
        phone: Set(None),
        lead_time_days: Set(2),
        min_order_minor: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply_supplier(&input, currency, &mut active)?;
    if let Set(name) = &active.name {
        name_free(&state, venue_id, name, None).await?;
    }
    let row = active.insert(&state.db).await?;
    Ok(created(supplier_view(row, currency)))
}

/// One supplier.
#[utoipa::path(get, path = "/api/venues/{venue_id}/suppliers/{id}", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:read"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Supplier id")),
    responses(
        (status = 200, description = "The supplier", body = Envelope<SupplierView>),
        (status = 403, description = "Not the venue's staff", body = ErrorBody),
        (status = 404, description = "No such supplier", body = ErrorBody),
    ))]
pub async fn get_supplier(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<SupplierView>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Staff).await?;
    let row = find_supplier(&state, venue_id, id).await?;
    Ok(ok(supplier_view(row, currency_of(&venue))))
}

/// Change a supplier (venue manager or admin).
#[utoipa::path(put, path = "/api/venues/{venue_id}/suppliers/{id}", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Supplier id")),
    request_body(content = SupplierInput, example = json!({"lead_time_days": 3})),
    responses(
        (status = 200, description = "Changed", body = Envelope<SupplierView>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "No such supplier", body = ErrorBody),
        (status = 409, description = "A supplier of that name exists, or a minimum with more decimals than the currency", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    ))]
pub async fn update_supplier(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(input): ApiJson<SupplierInput>,
) -> ApiResult<Reply<SupplierView>> {
    let venue = crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Manager).await?;
    let currency = currency_of(&venue);
    let mut active: suppliers::ActiveModel = find_supplier(&state, venue_id, id).await?.into();
    apply_supplier(&input, currency, &mut active)?;
    if let Set(name) = &active.name {
        name_free(&state, venue_id, name, Some(id)).await?;
    }
    active.updated_at = Set(state.now());
    let row = active.update(&state.db).await?;
    Ok(ok(supplier_view(row, currency)))
}

/// Remove a supplier (venue manager or admin). One with purchase orders stays (409): its orders are
/// the venue's purchasing history. Ingredients and batches that named it keep their stock.
#[utoipa::path(delete, path = "/api/venues/{venue_id}/suppliers/{id}", tag = "inventory", security(("bearer" = []), ("api_key" = ["restaurants:write"])),
    params(("venue_id" = Uuid, Path, description = "Venue id"), ("id" = Uuid, Path, description = "Supplier id")),
    responses(
        (status = 200, description = "Removed", body = Envelope<Option<String>>),
        (status = 403, description = "Not the venue's manager", body = ErrorBody),
        (status = 404, description = "No such supplier", body = ErrorBody),
        (status = 409, description = "The supplier has purchase orders", body = ErrorBody),
    ))]
pub async fn delete_supplier(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((venue_id, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Reply<Option<String>>> {
    crate::restaurants::team_venue(&state, &me, venue_id, MemberRole::Manager).await?;
    find_supplier(&state, venue_id, id).await?;
    let ordered = purchase_orders::Entity::find()
        .filter(purchase_orders::Column::SupplierId.eq(id))
        .count(&state.db)
        .await?;
    if ordered > 0 {
        return Err(ApiError::conflict(
            "supplier_has_orders",
            format!("the supplier has {ordered} purchase order(s); they keep it"),
        ));
    }
    let txn = crate::database::begin_write(&state.db).await?;
    ingredients::Entity::update_many()
        .col_expr(
            ingredients::Column::SupplierId,
            sea_orm::sea_query::Expr::value(Option::<Uuid>::None),
        )
        .filter(ingredients::Column::SupplierId.eq(id))
        .exec(&txn)
        .await?;
    batches::Entity::update_many()
        .col_expr(
            batches::Column::SupplierId,
            sea_orm::sea_query::Expr::value(Option::<Uuid>::None),
        )
        .filter(batches::Column::SupplierId.eq(id))
        .exec(&txn)
        .await?;
    suppliers::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(ok(None).message("supplier removed"))
}
