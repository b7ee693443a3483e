//! The pages' form extractor: `application/x-www-form-urlencoded` bodies, refused as a page (never a
//! bare text answer) when the body cannot be read, a value holds a NUL character, or a field is wrong.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::error_page;
use crate::http::extract::nul_field_in_pairs;

pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(error_page(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Not a form",
                "This address takes a submitted form.",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if let Some(field) = nul_field_in_pairs(&bytes) {
            return Err(error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check the form",
                &format!("The field {field} holds a NUL character, which Brigade cannot store."),
            ));
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(Form)
            .map_err(|err| {
                error_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Please check the form",
                    &format!("The form could not be read: {err}."),
                )
            })
    }
}
