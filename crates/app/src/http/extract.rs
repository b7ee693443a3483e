//! Extractors whose rejections are enveloped errors that name the offending field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// JSON body. Syntax errors are 400 `invalid_json`; a wrong type, unknown enum value or missing field is
/// 422 `validation_failed` with the field's path; a body over the limit is 413.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let mime = v
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE)
            } else {
                ApiError::bad_request("invalid_body", "could not read the request body")
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A JSON body with the SHA-256 of its content (keys sorted, whitespace ignored), for requests that
/// must recognise a repeat of themselves (`Idempotency-Key`).
pub struct ApiJsonDigest<T>(pub T, pub String);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJsonDigest<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ApiJson(mut value) = ApiJson::<serde_json::Value>::from_request(req, state).await?;
        let digest = json_digest(&value);
        whole_numbers_as_integers(&mut value);
        Ok(ApiJsonDigest(from_value(value)?, digest))
    }
}

/// SHA-256 (hex) of a JSON value written canonically: object keys sorted, no whitespace.
pub fn json_digest(value: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    fn write(value: &serde_json::Value, out: &mut Sha256) {
        match value {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.update(b"{");
                for key in keys {
                    out.update(serde_json::to_string(key).unwrap_or_default().as_bytes());
                    out.update(b":");
                    write(&map[key], out);
                    out.update(b",");
                }
                out.update(b"}");
            }
            serde_json::Value::Array(items) => {
                out.update(b"[");
                for item in items {
                    write(item, out);
                    out.update(b",");
                }
                out.update(b"]");
            }
            other => out.update(other.to_string().as_bytes()),
        }
    }
    let mut hasher = Sha256::new();
    write(value, &mut hasher);
    hex::encode(hasher.finalize())
}

/// Deserialize JSON, naming the field that failed. Text holding a NUL character is refused (422 naming
/// the field): PostgreSQL cannot store it and SQLite cuts strings at it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Some(field) = nul_field_in_json(bytes) {
        return Err(nul_error(&field));
    }
    // serde fills a struct from an array of its fields in order too (`[null, null]`); the document
    // says object, so an array is refused where an object is wanted.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') && wants_object::<T>() {
        return Err(ApiError::field("body", "must be a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(value) => Ok(value),
        Err(err) => {
            let inner = err.inner();
            if inner.is_syntax() || inner.is_eof() {
                return Err(ApiError::bad_request(
                    "invalid_json",
                    format!("malformed JSON: {inner}"),
                ));
            }
            // JSON Schema counts 2.0 as an integer; serde does not. Read such bodies again with
            // every whole number written as one.
            if inner.to_string().contains("floating point")
                && let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(bytes)
                && whole_numbers_as_integers(&mut value)
            {
                return from_value(value);
            }
            Err(field_error(err))
        }
    }
}

/// Whether `T` deserializes from a JSON object (a struct or a map) rather than from a list or any value:
/// asks `T` which kind of input it wants from a deserializer that only records the question.
fn wants_object<T: DeserializeOwned>() -> bool {
    use serde::de::{Error as _, Visitor, value::Error};
    struct Probe;
    impl<'de> serde::Deserializer<'de> for Probe {
        type Error = Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
            Err(Error::custom("other"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            _: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Error> {
            Err(Error::custom("object"))
        }
        fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
            Err(Error::custom("object"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
            unit unit_struct newtype_struct seq tuple tuple_struct enum identifier ignored_any
        }
    }
    T::deserialize(Probe).is_err_and(|e| e.to_string() == "object")
}

/// Deserialize an already parsed value, naming the field that failed.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    if value.is_array() && wants_object::<T>() {
        return Err(ApiError::field("body", "must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(field_error)
}

/// The 422 naming the field a deserialization error is about.
fn field_error<E: std::fmt::Display>(err: serde_path_to_error::Error<E>) -> ApiError {
    let path = err.path().to_string();
    let message = strip_position(&err.into_inner().to_string());
    // "missing field `x`" is reported at the parent; name the field itself.
    let field = match message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        Some(missing) if path == "." => missing.to_string(),
        Some(missing) => format!("{path}.{missing}"),
        None if path == "." => "body".to_string(),
        None => path,
    };
    ApiError::field(&field, message)
}

/// Write numbers with a zero fraction (`2.0`) as integers; whether any was changed.
pub fn whole_numbers_as_integers(value: &mut serde_json::Value) -> bool {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 {
                *value = serde_json::Value::from(f as i64);
                true
            } else if f.fract() == 0.0 && f >= 0.0 && f < u64::MAX as f64 {
                *value = serde_json::Value::from(f as u64);
                true
            } else {
                false
            }
        }
        // Every element is visited (no short circuit): each may need rewriting.
        serde_json::Value::Array(items) => {
            items
                .iter_mut()
                .map(whole_numbers_as_integers)
                .filter(|changed| *changed)
                .count()
                > 0
        }
        serde_json::Value::Object(map) => {
            map.values_mut()
                .map(whole_numbers_as_integers)
                .filter(|changed| *changed)
                .count()
                > 0
        }
        _ => false,
    }
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

/// Query string; a bad parameter (wrong type, out of range, a NUL character) is 422 naming it.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        if let Some(field) = nul_field_in_pairs(query.as_bytes()) {
            return Err(nul_error(&field));
        }
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|err| {
                let path = err.path().to_string();
                let message = strip_position(&err.into_inner().to_string());
                let field = if path == "." {
                    "query".to_string()
                } else {
                    path
                };
                ApiError::field(&field, message)
            })
    }
}

/// Path parameters; a malformed id is 400 `invalid_path` (and an unknown one a 404 from the handler).
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|rejection| ApiError::bad_request("invalid_path", rejection.body_text()))
    }
}

/// For a field holding an object: serde would also take an array of the struct's fields in order
/// (`[null, null]`), which the document does not allow. `#[serde(default, deserialize_with = ...)]`.
pub fn object_or_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        value @ serde_json::Value::Object(_) => serde_json::from_value(value)
            .map(Some)
            .map_err(serde::de::Error::custom),
        _ => Err(serde::de::Error::custom("must be an object")),
    }
}

/// [`object_or_null`] for a list of objects.
pub fn objects_or_null<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                value @ serde_json::Value::Object(_) => {
                    serde_json::from_value(value).map_err(serde::de::Error::custom)
                }
                _ => Err(serde::de::Error::custom("must be a list of objects")),
            })
            .collect::<Result<Vec<T>, _>>()
            .map(Some),
        _ => Err(serde::de::Error::custom("must be a list")),
    }
}

/// The refusal of text holding a NUL character, naming where it was.
pub fn nul_error(field: &str) -> ApiError {
    ApiError::field(field, "must not contain a NUL character (\\u0000)")
}

/// The first JSON string (a value or a key) holding a NUL character, as a field path such as
/// `items[0].notes`. A NUL can only arrive as the escape `\u0000` (raw control characters are not JSON),
/// so bodies without that escape are not parsed twice.
pub fn nul_field_in_json(bytes: &[u8]) -> Option<String> {
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    fn walk(value: &serde_json::Value, path: &str) -> Option<String> {
        let here = || {
            if path.is_empty() {
                "body".to_string()
            } else {
                path.to_string()
            }
        };
        match value {
            serde_json::Value::String(s) => s.contains('\0').then(here),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| walk(item, &format!("{path}[{i}]"))),
            serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
                let field = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if key.contains('\0') {
                    Some(field.replace('\0', "\\u0000"))
                } else {
                    walk(item, &field)
                }
            }),
            _ => None,
        }
    }
    walk(&value, "")
}

/// The first name of `name=value` pairs (a query string or a form body) whose name or value holds a NUL
/// character (`%00`).
pub fn nul_field_in_pairs(encoded: &[u8]) -> Option<String> {
    form_urlencoded::parse(encoded)
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| name.replace('\0', "%00"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_array_is_not_taken_for_an_object() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Plan {
            days: Option<i32>,
            next: Option<String>,
        }
        assert!(wants_object::<Plan>());
        assert!(wants_object::<std::collections::HashMap<String, i32>>());
        assert!(!wants_object::<Vec<Plan>>());
        assert!(!wants_object::<serde_json::Value>());
        let refused = parse_json::<Plan>(b"  [null, null]").unwrap_err();
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.errors.unwrap().contains_key("body"));
        assert!(from_value::<Plan>(serde_json::json!([1, "x"])).is_err());
        assert_eq!(parse_json::<Plan>(br#"{"days": 3}"#).unwrap().days, Some(3));
        assert_eq!(parse_json::<Vec<Plan>>(b"[{}]").unwrap().len(), 1);
        // A whole number written with a fraction is still an integer (JSON Schema's reading).
        assert_eq!(
            parse_json::<Plan>(br#"{"days": 3.0}"#).unwrap().days,
            Some(3)
        );
    }

    #[test]
    fn nul_characters_are_found_and_named_wherever_they_are() {
        assert_eq!(nul_field_in_json(br#"{"a":"x"}"#), None);
        assert_eq!(
            nul_field_in_json(br#"{"a":{"b":[1,"ok","bad\u0000"]}}"#).as_deref(),
            Some("a.b[2]")
        );
        assert_eq!(nul_field_in_json(br#""\u0000""#).as_deref(), Some("body"));
        // An escaped backslash followed by "u0000" is not a NUL.
        assert_eq!(nul_field_in_json(br#"{"a":"\\u0000"}"#), None);
        assert_eq!(
            nul_field_in_pairs(b"q=ok&region=%00zzz").as_deref(),
            Some("region")
        );
        assert_eq!(nul_field_in_pairs(b"q=fine"), None);
        let err = parse_json::<serde_json::Value>(br#"{"email":"a\u0000@x.io"}"#).unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(err.errors.unwrap().contains_key("email"));
    }

    #[test]
    fn whole_numbers_written_with_a_fraction_are_integers() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Slot {
            max: i32,
            sizes: Vec<u8>,
        }
        let slot: Slot = parse_json(br#"{"max": 63.0, "sizes": [2.0, 4]}"#).unwrap();
        assert_eq!(
            slot,
            Slot {
                max: 63,
                sizes: vec![2, 4]
            }
        );
        let err = parse_json::<Slot>(br#"{"max": 63.5, "sizes": []}"#).unwrap_err();
        assert!(err.errors.unwrap().contains_key("max"));
    }
}
