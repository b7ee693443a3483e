//! Menus: categories (in display order) and items of a venue (a restaurant), priced in the venue's
//! currency. The whole menu is read through the cache (5 minutes, as the seed asks) and every change
//! invalidates it; with Redis the cache is shared, so the invalidation reaches every process at once.
//!
//! Facade: [`load_menu`] (ordering prices orders from it), [`invalidate`].

pub mod routes;

use std::time::Duration;

use brigade_platform::cache;
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entities::{menu_categories, menu_items, restaurants};
use crate::http::error::ApiError;
use crate::money::Currency;
use crate::state::AppState;

pub const MENU_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CategoryView {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub display_order: i32,
}

impl From<menu_categories::Model> for CategoryView {
    fn from(c: menu_categories::Model) -> Self {
        CategoryView {
            id: c.id,
            venue_id: c.restaurant_id,
            name: c.name,
            description: c.description,
            display_order: c.display_order,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ItemView {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub category_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// Decimal amount in `currency`, as a string.
    #[schema(value_type = String, example = "12.50")]
    pub price: Decimal,
    #[schema(example = "GBP")]
    pub currency: String,
    pub image_url: Option<String>,
    pub ingredients: Option<String>,
    pub preparation_minutes: Option<i32>,
    /// False when sold out or "86" (see `unavailable_until`): new orders cannot include it.
    pub is_available: bool,
    /// Set while the item is "86" until this instant (the start of the venue's next local day); it is
    /// available again from then on by itself.
    pub unavailable_until: Option<chrono::DateTime<chrono::Utc>>,
    /// The point-of-sale code channel orders use for it.
    pub plu: Option<String>,
    pub display_order: i32,
}

/// Whether new orders may include the item at `now`: not marked sold out, and not "86" until later.
pub fn available_at(item: &menu_items::Model, now: chrono::DateTime<chrono::Utc>) -> bool {
    item.is_available && item.unavailable_until.is_none_or(|until| until <= now)
}

pub fn item_view(
    item: menu_items::Model,
    currency: Currency,
    now: chrono::DateTime<chrono::Utc>,
) -> ItemView {
    let is_available = available_at(&item, now);
    let unavailable_until = item.unavailable_until.filter(|until| *until > now);
    ItemView {
        id: item.id,
        venue_id: item.restaurant_id,
        category_id: item.category_id,
        name: item.name,
        description: item.description,
        price: currency.from_minor(item.price_minor),
        currency: currency.code.to_string(),
        image_url: item.image_url,
        ingredients: item.ingredients,
        preparation_minutes: item.preparation_minutes,
        is_available,
        unavailable_until,
        plu: item.plu,
        display_order: item.display_order,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MenuSection {
    #[serde(flatten)]
    pub category: CategoryView,
    pub items: Vec<ItemView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MenuView {
    pub venue_id: Uuid,
    pub currency: String,
    pub categories: Vec<MenuSection>,
}

/// How long a menu may stay cached: five minutes, or less when an item comes back from "86" sooner.
pub fn menu_ttl(menu: &MenuView, now: chrono::DateTime<chrono::Utc>) -> Duration {
    menu.categories
        .iter()
        .flat_map(|c| c.items.iter())
        .filter_map(|i| i.unavailable_until)
        .filter_map(|until| (until - now).to_std().ok())
        .map(|left| left.max(Duration::from_secs(1)))
        .fold(MENU_TTL, Duration::min)
}

fn cache_key(venue_id: Uuid) -> String {
    format!("menu:v1:{venue_id}")
}

pub fn currency_of(venue: &restaurants::Model) -> Currency {
    Currency::parse(&venue.currency).unwrap_or(Currency {
        code: "EUR",
        exponent: 2,
    })
}

/// The venue's whole menu, from the cache when it is there.
pub async fn load_menu(state: &AppState, venue: &restaurants::Model) -> Result<MenuView, ApiError> {
    Ok(MenuView::clone(&*load_menu_shared(state, venue).await?))
}

/// [`load_menu`], shared: order placement reads the menu on every order, and a menu unchanged in the
/// cache is not parsed again (`cache::get_json_shared`).
pub async fn load_menu_shared(
    state: &AppState,
    venue: &restaurants::Model,
) -> Result<std::sync::Arc<MenuView>, ApiError> {
    let key = cache_key(venue.id);
    if let Some(menu) = cache::get_json_shared::<MenuView>(state.cache.as_ref(), &key).await {
        metrics::counter!("brigade_menu_cache_total", "result" => "hit").increment(1);
        return Ok(menu);
    }
    metrics::counter!("brigade_menu_cache_total", "result" => "miss").increment(1);
    // Overlapping misses (a burst of orders, or Redis down) share one read.
    state
        .flights
        .menus
        .run(venue.id, || async {
            let currency = currency_of(venue);
            let now = state.now();
            let categories = menu_categories::Entity::find()
                .filter(menu_categories::Column::RestaurantId.eq(venue.id))
                .order_by_asc(menu_categories::Column::DisplayOrder)
                .order_by_asc(menu_categories::Column::Name)
                .all(&state.db)
                .await?;
            let items = menu_items::Entity::find()
                .filter(menu_items::Column::RestaurantId.eq(venue.id))
                .order_by_asc(menu_items::Column::DisplayOrder)
                .order_by_asc(menu_items::Column::Name)
                .all(&state.db)
                .await?;
            let mut sections: Vec<MenuSection> = categories
                .into_iter()
                .map(|c| MenuSection {
                    category: c.into(),
                    items: Vec::new(),
                })
                .collect();
            for item in items {
                if let Some(section) = sections
                    .iter_mut()
                    .find(|s| s.category.id == item.category_id)
                {
                    section.items.push(item_view(item, currency, now));
                }
            }
            let menu = MenuView {
                venue_id: venue.id,
                currency: currency.code.to_string(),
                categories: sections,
            };
            cache::set_json(state.cache.as_ref(), &key, &menu, menu_ttl(&menu, now)).await;
            Ok(std::sync::Arc::new(menu))
        })
        .await
}

/// Forget the cached menu (after any change to it or to its venue).
pub async fn invalidate(state: &AppState, venue_id: Uuid) {
    cache::invalidate(state.cache.as_ref(), &cache_key(venue_id)).await;
    cache::invalidate(state.cache.as_ref(), &response_key(venue_id)).await;
    cache::invalidate(
        state.cache.as_ref(),
        &crate::restaurants::context_key(venue_id),
    )
    .await;
}

/// How an item named elsewhere (a channel order's) finds the venue's menu item: by PLU, else by name,
/// case and surrounding spaces aside.
pub struct ItemMatcher {
    by_plu: std::collections::HashMap<String, Uuid>,
    by_name: std::collections::HashMap<String, Uuid>,
}

fn match_key(s: &str) -> String {
    s.trim().to_lowercase()
}

impl ItemMatcher {
    pub fn new(menu: &[menu_items::Model]) -> ItemMatcher {
        ItemMatcher {
            by_plu: menu
                .iter()
                .filter_map(|m| Some((match_key(m.plu.as_deref()?), m.id)))
                .collect(),
            by_name: menu.iter().map(|m| (match_key(&m.name), m.id)).collect(),
        }
    }

    pub fn find(&self, name: &str, plu: Option<&str>) -> Option<Uuid> {
        plu.and_then(|code| self.by_plu.get(&match_key(code)))
            .or_else(|| self.by_name.get(&match_key(name)))
            .copied()
    }
}

/// The public menu response, already serialised: a scan of a QR code costs one cache read. Only menus of
/// venues the public may see are kept here, so a hit needs no further check.
pub fn response_key(venue_id: Uuid) -> String {
    format!("menu:v1:{venue_id}:response")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn menu(until: &[Option<chrono::DateTime<chrono::Utc>>]) -> MenuView {
        let items = until
            .iter()
            .map(|u| ItemView {
                id: Uuid::nil(),
                venue_id: Uuid::nil(),
                category_id: Uuid::nil(),
                name: "Item".into(),
                description: None,
                price: Decimal::ONE,
                currency: "GBP".into(),
                image_url: None,
                ingredients: None,
                preparation_minutes: None,
                is_available: u.is_none(),
                unavailable_until: *u,
                plu: None,
                display_order: 0,
            })
            .collect();
        MenuView {
            venue_id: Uuid::nil(),
            currency: "GBP".into(),
            categories: vec![MenuSection {
                category: CategoryView {
                    id: Uuid::nil(),
                    venue_id: Uuid::nil(),
                    name: "All".into(),
                    description: None,
                    display_order: 0,
                },
                items,
            }],
        }
    }

    #[test]
    fn a_cached_menu_expires_when_its_first_86_ends() {
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 6, 15, 22, 58, 0)
            .unwrap();
        let midnight = chrono::Utc.with_ymd_and_hms(2026, 6, 15, 23, 0, 0).unwrap();
        assert_eq!(menu_ttl(&menu(&[None]), now), MENU_TTL);
        assert_eq!(
            menu_ttl(&menu(&[None, Some(midnight)]), now),
            Duration::from_secs(120)
        );
        // Far off: the usual five minutes; already past: at least a second, never zero.
        let later = midnight + chrono::Duration::hours(5);
        assert_eq!(menu_ttl(&menu(&[Some(later)]), now), MENU_TTL);
        assert_eq!(
            menu_ttl(&menu(&[Some(midnight)]), midnight),
            Duration::from_secs(1)
        );
    }
}
