//! The one error type at the edge. Every `/api` failure renders the seed's envelope
//! (`success`, `data`, `message`, `errors`) plus a stable snake_case `code`; the cause chain of an internal
//! error is logged and never sent.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub type FieldErrorMap = BTreeMap<String, Vec<String>>;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub errors: Option<FieldErrorMap>,
    pub retry_after: Option<Duration>,
    /// Extra machine-readable detail (for example the allowed transitions of a 409).
    pub data: Option<serde_json::Value>,
    source: Option<anyhow::Error>,
}

/// The error body every `/api` failure returns.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Always false.
    pub success: bool,
    #[schema(value_type = Object, nullable = true)]
    pub data: Option<serde_json::Value>,
    pub message: String,
    /// Field name -> problems with it.
    #[schema(value_type = Object, nullable = true)]
    pub errors: Option<FieldErrorMap>,
    /// Stable snake_case error code.
    #[schema(example = "validation_failed")]
    pub code: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            errors: None,
            retry_after: None,
            data: None,
            source: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn validation(errors: FieldErrorMap) -> Self {
        let mut err = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "some fields are invalid",
        );
        err.errors = Some(errors);
        err
    }

    pub fn field(field: &str, problem: impl Into<String>) -> Self {
        let mut errors = FieldErrorMap::new();
        errors.insert(field.to_string(), vec![problem.into()]);
        Self::validation(errors)
    }

    pub fn rate_limited(retry_after: Duration) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests; slow down",
        );
        err.retry_after = Some(retry_after);
        err
    }

    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        let mut err = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error",
        );
        err.source = Some(source.into());
        err
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            message,
        )
    }

    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }

    pub fn with_field(mut self, field: &str, problem: impl Into<String>) -> Self {
        self.errors
            .get_or_insert_with(Default::default)
            .entry(field.to_string())
            .or_default()
            .push(problem.into());
        self
    }

    /// The envelope code for a bare status (used for framework-made responses such as 405).
    pub fn from_status(status: StatusCode) -> Self {
        let (code, message) = match status.as_u16() {
            400 => ("bad_request", "bad request"),
            401 => ("unauthorized", "authentication required"),
            403 => ("forbidden", "forbidden"),
            404 => ("not_found", "no such resource"),
            405 => ("method_not_allowed", "method not allowed on this resource"),
            408 => ("request_timeout", "the request took too long"),
            409 => ("conflict", "conflict"),
            413 => ("payload_too_large", "request body too large"),
            414 => ("uri_too_long", "the request target is too long"),
            415 => (
                "unsupported_media_type",
                "send the body as application/json",
            ),
            422 => ("validation_failed", "some fields are invalid"),
            429 => ("rate_limited", "too many requests; slow down"),
            503 => ("service_unavailable", "service unavailable"),
            s if s >= 500 => ("internal_error", "internal error"),
            _ => ("error", "request failed"),
        };
        Self::new(status, code, message)
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            success: false,
            data: self.data.clone(),
            message: self.message.clone(),
            errors: self.errors.clone(),
            code: self.code.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            match &self.source {
                Some(source) => {
                    tracing::error!(error = ?source, code = self.code, "request failed")
                }
                None => {
                    tracing::error!(code = self.code, message = %self.message, "request failed")
                }
            }
        }
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            if let Ok(value) = HeaderValue::from_str(&secs.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        // An update whose row another request deleted after this one read it: the row is gone, so
        // the answer is the same 404 a request arriving a moment later gets.
        if matches!(err, sea_orm::DbErr::RecordNotUpdated) {
            return ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "the record was deleted while this request changed it",
            );
        }
        match err.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => ApiError::conflict(
                "already_exists",
                "a record with these values already exists",
            ),
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_reference",
                "a referenced record does not exist",
            ),
            _ => ApiError::internal(err),
        }
    }
}

/// Collects field problems, then fails with one 422 naming all of them.
#[derive(Debug, Default)]
pub struct FieldErrors(FieldErrorMap);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, problem: impl Into<String>) {
        self.0
            .entry(field.to_string())
            .or_default()
            .push(problem.into());
    }

    /// Record the error of a parse, keeping the value when it parsed.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.add(field, err.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems as a 409: the request is well formed but contradicts what is stored.
    pub fn into_conflict(self, code: &'static str, message: &str) -> Result<(), ApiError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let mut err = ApiError::conflict(code, message);
        err.errors = Some(self.0);
        Err(err)
    }

    pub fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_of_a_row_deleted_meanwhile_is_a_404_not_a_500() {
        let err = ApiError::from(sea_orm::DbErr::RecordNotUpdated);
        assert_eq!(err.status, StatusCode::NOT_FOUND);
        assert_eq!(err.code, "not_found");
        let other = ApiError::from(sea_orm::DbErr::Custom("boom".into()));
        assert_eq!(other.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
