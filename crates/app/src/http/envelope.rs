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

#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based page number (default 1).
    pub page: Option<u64>,
    /// Items per page, 1 to 100 (default 20).
    pub per_page: Option<u64>,
}

pub const MAX_PER_PAGE: u64 = 100;

impl PageParams {
    /// (zero-based page index, page size), validated.
    pub fn resolve(&self) -> Result<(u64, u64), ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(20);
        if page == 0 {
            return Err(ApiError::bad_request("invalid_query", "page starts at 1")
                .with_field("page", "must be at least 1"));
        }
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(ApiError::bad_request(
                "invalid_query",
                "per_page must be between 1 and 100",
            )
            .with_field("per_page", "must be between 1 and 100"));
        }
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
