//! The success side of the envelope, and the one pagination convention every list uses:
//! `?page=1&per_page=20` (per_page at most 100), answered with `items` and `pagination`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;

#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    /// Always true.
    pub success: bool,
    pub data: T,
    #[schema(nullable = true)]
    pub message: Option<String>,
    #[schema(value_type = Object, nullable = true)]
    pub errors: Option<serde_json::Value>,
}

/// A successful response: status (200 unless changed) and `data` in the envelope.
pub struct Reply<T>(pub StatusCode, pub T, pub Option<String>);

pub fn ok<T: Serialize>(data: T) -> Reply<T> {
    Reply(StatusCode::OK, data, None)
}

pub fn created<T: Serialize>(data: T) -> Reply<T> {
    Reply(StatusCode::CREATED, data, None)
}

impl<T> Reply<T> {
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.2 = Some(message.into());
        self
    }

    pub fn status(mut self, status: StatusCode) -> Self {
        self.0 = status;
        self
    }
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(Envelope {
                success: true,
                data: self.1,
                message: self.2,
                errors: None,
            }),
        )
            .into_response()
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based page number (default 1).
    pub page: Option<PageNumber>,
    /// Items per page, 1 to 100 (default 20).
    pub per_page: Option<PerPage>,
}

pub const MAX_PER_PAGE: u64 = 100;
/// The last page anyone may ask for: a million pages of 100 is far past any list Brigade keeps, and
/// page x per_page stays far inside the databases' integers.
pub const MAX_PAGE: u64 = 1_000_000;

/// A bounded integer query parameter: refused at the extractor (422 naming it) when out of range, so no
/// handler multiplies an unchecked number.
#[macro_export]
macro_rules! bounded_parameter {
    ($name:ident, $min:expr, $max:expr, $what:literal) => {
        #[doc = $what]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, ::serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(u64);

        impl $name {
            pub const MIN: u64 = $min;
            pub const MAX: u64 = $max;

            pub fn new(value: u64) -> Option<Self> {
                (Self::MIN..=Self::MAX)
                    .contains(&value)
                    .then_some($name(value))
            }

            pub fn get(self) -> u64 {
                self.0
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as ::serde::Deserialize>::deserialize(d)?;
                text.trim()
                    .parse::<u64>()
                    .ok()
                    .and_then($name::new)
                    .ok_or_else(|| {
                        ::serde::de::Error::custom(format!(
                            "must be a whole number from {} to {}",
                            Self::MIN,
                            Self::MAX
                        ))
                    })
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(Self::MIN as f64))
                    .maximum(Some(Self::MAX as f64))
                    .description(Some($what))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

bounded_parameter!(
    PageNumber,
    1,
    MAX_PAGE,
    "A 1-based page number (at most 1,000,000)."
);
bounded_parameter!(PerPage, 1, MAX_PER_PAGE, "Items per page, 1 to 100.");

impl PageParams {
    pub fn new(page: u64, per_page: u64) -> Self {
        PageParams {
            page: PageNumber::new(page),
            per_page: PerPage::new(per_page),
        }
    }

    /// (zero-based page index, page size); the bounds were checked when the parameters were read.
    pub fn resolve(&self) -> Result<(u64, u64), ApiError> {
        let page = self.page.map_or(1, PageNumber::get);
        let per_page = self.per_page.map_or(20, PerPage::get);
        Ok((page - 1, per_page))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Pagination {
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
    pub total_pages: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub pagination: Pagination,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, page_index: u64, per_page: u64, total: u64) -> Self {
        Page {
            items,
            pagination: Pagination {
                page: page_index + 1,
                per_page,
                total,
                total_pages: total.div_ceil(per_page),
            },
        }
    }
}

/// Fetch one page of a SeaORM select.
pub async fn paginate<E, M, C>(
    select: sea_orm::Select<E>,
    db: &C,
    params: &PageParams,
) -> Result<(Vec<M>, u64, u64, u64), ApiError>
where
    E: sea_orm::EntityTrait<Model = M>,
    M: sea_orm::FromQueryResult + Sized + Send + Sync,
    C: sea_orm::ConnectionTrait,
{
    use sea_orm::PaginatorTrait;
    let (index, per_page) = params.resolve()?;
    let paginator = select.paginate(db, per_page);
    let total = paginator.num_items().await?;
    let items = paginator.fetch_page(index).await?;
    Ok((items, index, per_page, total))
}

/// `%needle%` in lower case, with `\\`, `%` and `_` escaped.
fn contains_pattern(needle: &str) -> sea_orm::sea_query::LikeExpr {
    let escaped = needle
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

/// Case-insensitive "contains" for list searches, portable across SQLite and PostgreSQL.
pub fn contains_ci<C: sea_orm::ColumnTrait>(
    column: C,
    needle: &str,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, ExprTrait, Func};
    Expr::expr(Func::lower(Expr::col(column))).like(contains_pattern(needle))
}

/// [`contains_ci`] in each database's fastest form with the same meaning: SQLite's `LIKE` already
/// ignores ASCII case (its `lower()` folds only ASCII too), so there it skips calling `lower()` on every
/// row. (PostgreSQL keeps `lower(...) LIKE`: sea-query writes `ILIKE` with an `ESCAPE` clause inside
/// parentheses, which PostgreSQL rejects.)
pub fn contains_ci_on<C: sea_orm::ColumnTrait>(
    backend: sea_orm::DbBackend,
    column: C,
    needle: &str,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, ExprTrait};
    match backend {
        sea_orm::DbBackend::Sqlite => Expr::col(column).like(contains_pattern(needle)),
        _ => contains_ci(column, needle),
    }
}
