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

/// A form that could not be saved, shown again: what was typed, put back, and each field's problems in
/// words beside it. `Submitted::default()` is a page with no failed form.
#[derive(Default)]
pub struct Submitted {
    /// Which of the page's forms failed (a page can hold several).
    form: &'static str,
    values: std::collections::HashMap<String, String>,
    errors: crate::http::error::FieldErrorMap,
    /// Problems that belong to no one field.
    general: Vec<String>,
}

impl Submitted {
    /// `values` are the submitted fields; `err` is why they were refused.
    pub fn failed(
        form: &'static str,
        values: impl IntoIterator<Item = (&'static str, String)>,
        err: &crate::http::error::ApiError,
    ) -> Self {
        let (errors, general) = match &err.errors {
            Some(map) if !map.is_empty() => (map.clone(), Vec::new()),
            _ => (Default::default(), vec![sentence(&err.message)]),
        };
        Submitted {
            form,
            values: values
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            errors,
            general,
        }
    }

    pub fn is_failed(&self, form: &str) -> bool {
        !self.form.is_empty() && self.form == form
    }

    /// What to put in a field: what was typed when this form failed, else `default`.
    pub fn value<'a>(&'a self, form: &str, field: &str, default: &'a str) -> &'a str {
        if self.is_failed(form) {
            self.values.get(field).map_or("", String::as_str)
        } else {
            default
        }
    }

    /// Whether an option was the one chosen (the submitted value, else `default`).
    /// (`default` is a `bool` or a template's `&bool`.)
    pub fn chosen(
        &self,
        form: &str,
        field: &str,
        option: &str,
        default: impl std::borrow::Borrow<bool>,
    ) -> bool {
        if self.is_failed(form) {
            self.values.get(field).is_some_and(|v| v == option)
        } else {
            *default.borrow()
        }
    }

    /// A field's problems, in words, or `None`.
    pub fn error(&self, form: &str, field: &str) -> Option<String> {
        if !self.is_failed(form) {
            return None;
        }
        let problems = self.errors.get(field)?;
        Some(
            problems
                .iter()
                .map(|p| in_words(field, p))
                .collect::<Vec<_>>()
                .join(" "),
        )
    }

    /// `" is-invalid"` for a field with problems (Bootstrap's class), else `""`.
    pub fn invalid(&self, form: &str, field: &str) -> &'static str {
        if self.is_failed(form) && self.errors.contains_key(field) {
            " is-invalid"
        } else {
            ""
        }
    }

    /// Every problem of the form, for the summary above it: fields' problems in words, then the rest.
    pub fn summary(&self, form: &str) -> Vec<String> {
        if !self.is_failed(form) {
            return Vec::new();
        }
        self.errors
            .iter()
            .flat_map(|(field, problems)| problems.iter().map(|p| in_words(field, p)))
            .chain(self.general.iter().cloned())
            .collect()
    }
}

/// The words a person reads for a field's name.
pub fn field_label(field: &str) -> String {
    let known = match field {
        "working_hours" => "Working hours",
        "first_name" => "First name",
        "last_name" => "Last name",
        "timezone" => "Time zone",
        "occurred_at" => "The time of the interaction",
        "contact_id" => "The contact",
        "order_id" => "The order",
        "follow_up_on" => "The follow-up date",
        "to_kam_id" => "The new KAM",
        "restaurant_ids" => "The restaurants",
        "email" => "E-mail address",
        "is_lead" => "Lead contact",
        "kind" => "Kind",
        "outcome" => "Outcome",
        "notes" => "Notes",
        "note" => "Note",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    let words = field.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A field's problem as a sentence: "Phone is not a phone number." rather than `phone: ...`.
fn in_words(field: &str, problem: &str) -> String {
    let problem = problem.trim().trim_end_matches('.');
    let starts_with_verb = [
        "is ", "must ", "has ", "cannot ", "can't ", "should ", "does ", "may ",
    ]
    .iter()
    .any(|v| problem.starts_with(v));
    if starts_with_verb {
        format!("{} {problem}.", field_label(field))
    } else {
        format!("{}: {problem}.", field_label(field))
    }
}

/// A message as a sentence: capital first letter and a full stop.
fn sentence(message: &str) -> String {
    let message = message.trim().trim_end_matches('.');
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::error::ApiError;

    #[test]
    fn failed_forms_keep_their_values_and_name_every_problem_in_words() {
        let mut map = crate::http::error::FieldErrorMap::new();
        map.insert("phone".into(), vec!["is not a phone number".into()]);
        map.insert(
            "working_hours".into(),
            vec!["line 2: \"Mon 9-5\" is not like \"Mon 09:00-17:00\"".into()],
        );
        let failed = Submitted::failed(
            "settings",
            [("phone", "12".to_string()), ("region", "North".to_string())],
            &ApiError::validation(map),
        );
        assert_eq!(failed.value("settings", "region", "x"), "North");
        assert_eq!(failed.value("settings", "missing", "x"), "");
        assert_eq!(
            failed.value("other", "region", "x"),
            "x",
            "another form keeps its defaults"
        );
        assert_eq!(
            failed.error("settings", "phone").as_deref(),
            Some("Phone is not a phone number.")
        );
        assert_eq!(
            failed.error("settings", "working_hours").as_deref(),
            Some("Working hours: line 2: \"Mon 9-5\" is not like \"Mon 09:00-17:00\".")
        );
        assert_eq!(failed.invalid("settings", "phone"), " is-invalid");
        assert_eq!(failed.invalid("settings", "region"), "");
        assert_eq!(failed.summary("settings").len(), 2);
        assert!(failed.summary("other").is_empty());
        assert!(failed.chosen("settings", "region", "North", false));
        assert!(!failed.chosen("settings", "region", "South", true));
        assert!(Submitted::default().chosen("settings", "region", "South", true));

        let general = Submitted::failed("x", [], &ApiError::forbidden("not your restaurant"));
        assert_eq!(
            general.summary("x"),
            vec!["Not your restaurant.".to_string()]
        );
        assert_eq!(field_label("unknown_field"), "Unknown field");
    }
}
