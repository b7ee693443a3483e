//! Accounts and authentication: users and roles, restaurant memberships, access and refresh tokens,
//! password resets, API keys and browser sessions.
//!
//! Facade for other domains: [`Principal`] (who is calling, from the [`AuthUser`] extractor) and its
//! permission checks, and [`membership_role`] for venue permissions.

pub mod auth;
pub mod passwords;
pub mod routes;
pub mod service;
pub mod sessions;
pub mod tokens;
pub mod users_routes;

use std::fmt;
use std::str::FromStr;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub use auth::{AuthUser, MaybeAuthUser};

use crate::entities::{restaurant_members, restaurants, users};
use crate::http::error::ApiError;
use crate::state::AppState;

/// A person's role across Brigade. Venue people are plain accounts with restaurant memberships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Kam,
    Customer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Kam => "kam",
            Role::Customer => "customer",
        }
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "kam" => Ok(Role::Kam),
            "customer" => Ok(Role::Customer),
            other => Err(format!(
                "unknown role {other:?} (expected admin, kam or customer)"
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a person may do at one restaurant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    Staff,
    Manager,
    Owner,
}

impl MemberRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Owner => "owner",
            MemberRole::Manager => "manager",
            MemberRole::Staff => "staff",
        }
    }
}

impl FromStr for MemberRole {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "owner" => Ok(MemberRole::Owner),
            "manager" => Ok(MemberRole::Manager),
            "staff" => Ok(MemberRole::Staff),
            other => Err(format!(
                "unknown membership role {other:?} (expected owner, manager or staff)"
            )),
        }
    }
}

/// What an API key may do: each operation declares the one scope a key needs (`http::access`). Access
/// tokens and sessions act with the full rights of their user; keys never reach account, key or user
/// administration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Scope {
    /// Restaurants, venues, menus, QR codes, hours and members.
    #[serde(rename = "restaurants:read")]
    RestaurantsRead,
    /// Change them, and venues' time slots.
    #[serde(rename = "restaurants:write")]
    RestaurantsWrite,
    /// Orders, their history and streams, channel orders, saved venues.
    #[serde(rename = "orders:read")]
    OrdersRead,
    /// Place and move orders, payments, channel ingest, saved venues.
    #[serde(rename = "orders:write")]
    OrdersWrite,
    /// Reservations and time slots.
    #[serde(rename = "reservations:read")]
    ReservationsRead,
    /// Book, change and cancel reservations.
    #[serde(rename = "reservations:write")]
    ReservationsWrite,
    /// The signed-in account's notifications and their stream.
    #[serde(rename = "notifications:read")]
    NotificationsRead,
    /// Mark notifications read, delete them.
    #[serde(rename = "notifications:write")]
    NotificationsWrite,
    /// Send store status polls.
    #[serde(rename = "monitoring:write")]
    MonitoringWrite,
    /// Order analytics, monitoring reports and store uptime.
    #[serde(rename = "analytics:read")]
    AnalyticsRead,
    /// The KAM CRM: accounts, contacts, interactions, calls, performance.
    #[serde(rename = "crm:read")]
    CrmRead,
    /// Change the CRM: leads, contacts, interactions, call plans, reassignments, imports.
    #[serde(rename = "crm:write")]
    CrmWrite,
    /// Read accounts (administrators).
    #[serde(rename = "users:read")]
    UsersRead,
    /// Demand and customer predictions, model versions.
    #[serde(rename = "forecasts:read")]
    ForecastsRead,
    /// Train, promote and roll back models.
    #[serde(rename = "forecasts:train")]
    ForecastsTrain,
}

impl Scope {
    pub const ALL: [Scope; 15] = [
        Scope::RestaurantsRead,
        Scope::RestaurantsWrite,
        Scope::OrdersRead,
        Scope::OrdersWrite,
        Scope::ReservationsRead,
        Scope::ReservationsWrite,
        Scope::NotificationsRead,
        Scope::NotificationsWrite,
        Scope::MonitoringWrite,
        Scope::AnalyticsRead,
        Scope::CrmRead,
        Scope::CrmWrite,
        Scope::UsersRead,
        Scope::ForecastsRead,
        Scope::ForecastsTrain,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::RestaurantsRead => "restaurants:read",
            Scope::RestaurantsWrite => "restaurants:write",
            Scope::OrdersRead => "orders:read",
            Scope::OrdersWrite => "orders:write",
            Scope::ReservationsRead => "reservations:read",
            Scope::ReservationsWrite => "reservations:write",
            Scope::NotificationsRead => "notifications:read",
            Scope::NotificationsWrite => "notifications:write",
            Scope::MonitoringWrite => "monitoring:write",
            Scope::AnalyticsRead => "analytics:read",
            Scope::CrmRead => "crm:read",
            Scope::CrmWrite => "crm:write",
            Scope::UsersRead => "users:read",
            Scope::ForecastsRead => "forecasts:read",
            Scope::ForecastsTrain => "forecasts:train",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    AccessToken,
    ApiKey { key_id: Uuid, scopes: Vec<Scope> },
    Session,
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: Uuid,
    pub role: Role,
    pub method: AuthMethod,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn require_role(&self, allowed: &[Role]) -> Result<(), ApiError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this needs one of the roles: {}",
                allowed
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        self.require_role(&[Role::Admin])
    }
}

/// The caller's membership role at a restaurant, if any.
pub async fn membership_role(
    state: &AppState,
    user_id: Uuid,
    restaurant_id: Uuid,
) -> Result<Option<MemberRole>, ApiError> {
    let member = restaurant_members::Entity::find()
        .filter(restaurant_members::Column::UserId.eq(user_id))
        .filter(restaurant_members::Column::RestaurantId.eq(restaurant_id))
        .one(&state.db)
        .await?;
    Ok(member.and_then(|m| m.role.parse().ok()))
}

/// Admins pass; others need at least `min` at the restaurant.
pub async fn require_restaurant_role(
    state: &AppState,
    principal: &Principal,
    restaurant_id: Uuid,
    min: MemberRole,
) -> Result<(), ApiError> {
    if principal.is_admin() {
        return Ok(());
    }
    match membership_role(state, principal.user_id, restaurant_id).await? {
        Some(role) if role >= min => Ok(()),
        _ => Err(ApiError::forbidden(format!(
            "this needs the {} role at this restaurant",
            min.as_str()
        ))),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MembershipView {
    pub restaurant_id: Uuid,
    pub restaurant_name: String,
    pub role: MemberRole,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub role: Role,
    /// IANA time zone, used for local rules such as call planning.
    pub timezone: Option<String>,
    pub is_active: bool,
    /// Made on the order page with a name and a phone or e-mail: no password, so it cannot sign in
    /// again; its `email` is a placeholder and `contact_email` the address it gave, if any.
    pub is_guest: bool,
    pub contact_email: Option<String>,
    pub last_login_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub memberships: Vec<MembershipView>,
}

impl UserView {
    pub fn from_model(user: users::Model, memberships: Vec<MembershipView>) -> Self {
        UserView {
            id: user.id,
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
            phone: user.phone,
            role: user.role.parse().unwrap_or(Role::Customer),
            timezone: user.timezone,
            is_active: user.is_active,
            is_guest: user.is_guest,
            contact_email: user.contact_email,
            last_login_at: user.last_login_at,
            created_at: user.created_at,
            memberships,
        }
    }
}

pub async fn memberships_of(
    state: &AppState,
    user_id: Uuid,
) -> Result<Vec<MembershipView>, ApiError> {
    let rows = restaurant_members::Entity::find()
        .filter(restaurant_members::Column::UserId.eq(user_id))
        .find_also_related(restaurants::Entity)
        .all(&state.db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(member, restaurant)| {
            Some(MembershipView {
                restaurant_id: member.restaurant_id,
                restaurant_name: restaurant?.name,
                role: member.role.parse().ok()?,
            })
        })
        .collect())
}

pub async fn user_view(state: &AppState, user: users::Model) -> Result<UserView, ApiError> {
    let memberships = memberships_of(state, user.id).await?;
    Ok(UserView::from_model(user, memberships))
}

/// How a venue reaches a customer: the name, phone and the e-mail mail goes to ([`mail_address`]).
pub fn contact_of(user: &users::Model) -> (String, Option<String>, Option<String>) {
    (
        format!("{} {}", user.first_name, user.last_name)
            .trim()
            .to_string(),
        user.phone.clone(),
        mail_address(user),
    )
}

/// Where mail for an account goes: its address, or for a guest the e-mail it gave (a guest who gave only
/// a phone number gets none).
pub fn mail_address(user: &users::Model) -> Option<String> {
    if user.is_guest {
        user.contact_email.clone()
    } else {
        Some(user.email.clone())
    }
}
