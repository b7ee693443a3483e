//! Who may call each operation, read from the operation's own OpenAPI annotation, and checked here for
//! every `/api` request before its handler runs.
//!
//! Each `#[utoipa::path]` declares its `security`: `()` for anonymous callers, `("bearer" = [])` for an
//! access token or browser session, and `("api_key" = ["<scope>"])` when an API key with that scope may
//! call it. The router turns the generated document into an [`AccessTable`]; [`authenticate`] (a route
//! layer, so it knows the matched route) authenticates the request's credential once, refuses an API key
//! on an operation that does not list `api_key` or whose scope the key lacks, and leaves the
//! [`Authenticated`] caller in the request for the `AuthUser` / `MaybeAuthUser` extractors. An operation
//! that declares nothing admits no API key (fail closed); a test walks the document and fails on one.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::accounts::auth::{API_KEY_PREFIX, credential};
use crate::accounts::{AuthMethod, Principal, Scope};
use crate::state::AppState;

/// The security scheme of access tokens and browser sessions.
pub const BEARER: &str = "bearer";
/// The security scheme of `brg_` API keys; its requirement lists the one scope a key needs.
pub const API_KEY: &str = "api_key";

/// What one operation admits, as its annotation declares it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationAccess {
    /// Callers without credentials are admitted (the handler may still want one).
    pub anonymous: bool,
    /// Access tokens and sessions are admitted.
    pub bearer: bool,
    /// The scope an API key needs; `None`: no API key may call the operation.
    pub api_key: Option<Scope>,
    /// The credential may come as `?access_token=` (declared as that query parameter; for EventSource
    /// clients, which cannot send headers).
    pub query_token: bool,
}

/// Every operation's access, by method and route template (`/api/orders/{id}`).
#[derive(Debug, Default)]
pub struct AccessTable {
    operations: HashMap<(Method, String), OperationAccess>,
}

#[derive(Debug, thiserror::Error)]
pub enum AccessTableError {
    #[error("{method} {path}: unknown scope {scope:?} in its security")]
    UnknownScope {
        method: String,
        path: String,
        scope: String,
    },
    #[error("{method} {path}: an api_key requirement must name exactly one scope")]
    ScopeCount { method: String, path: String },
    #[error("{method} {path}: unknown security scheme {scheme:?}")]
    UnknownScheme {
        method: String,
        path: String,
        scheme: String,
    },
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

impl AccessTable {
    /// Read the `security` of every operation in an OpenAPI document. An operation without `security`
    /// is left out, so API keys are refused on it.
    pub fn from_openapi(spec: &serde_json::Value) -> Result<AccessTable, AccessTableError> {
        let mut operations = HashMap::new();
        let paths = spec["paths"].as_object().into_iter().flatten();
        for (path, item) in paths {
            for method in METHODS {
                let Some(requirements) = item[method]["security"].as_array() else {
                    continue;
                };
                let mut access = OperationAccess {
                    query_token: item[method]["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|p| p["name"] == "access_token" && p["in"] == "query"),
                    ..OperationAccess::default()
                };
                for requirement in requirements {
                    let schemes = requirement.as_object().into_iter().flatten();
                    if requirement.as_object().is_some_and(|r| r.is_empty()) {
                        access.anonymous = true;
                    }
                    for (scheme, scopes) in schemes {
                        let scopes: Vec<&str> = scopes
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|s| s.as_str())
                            .collect();
                        match scheme.as_str() {
                            BEARER => access.bearer = true,
                            API_KEY => {
                                let [scope] = scopes.as_slice() else {
                                    return Err(AccessTableError::ScopeCount {
                                        method: method.to_uppercase(),
                                        path: path.clone(),
                                    });
                                };
                                access.api_key = Some(Scope::parse(scope).ok_or_else(|| {
                                    AccessTableError::UnknownScope {
                                        method: method.to_uppercase(),
                                        path: path.clone(),
                                        scope: scope.to_string(),
                                    }
                                })?);
                            }
                            other => {
                                return Err(AccessTableError::UnknownScheme {
                                    method: method.to_uppercase(),
                                    path: path.clone(),
                                    scheme: other.to_string(),
                                });
                            }
                        }
                    }
                }
                let method = Method::from_bytes(method.to_uppercase().as_bytes())
                    .expect("a known HTTP method");
                operations.insert((method, path.clone()), access);
            }
        }
        Ok(AccessTable { operations })
    }

    pub fn get(&self, method: &Method, route: &str) -> Option<&OperationAccess> {
        // A HEAD request is answered by the GET route.
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.operations.get(&(method.clone(), route.to_string()))
    }

    pub fn len(&self) -> usize {
        self.operations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }
}

/// The caller as the access layer found it: `None` when the request carried no credential (or the
/// operation takes none).
#[derive(Debug, Clone)]
pub struct Authenticated(pub Option<Principal>);

/// Whether an operation admits a caller with these credentials; the error is the answer to send.
pub fn admits(access: Option<&OperationAccess>, principal: &Principal) -> Result<(), ApiError> {
    let AuthMethod::ApiKey { scopes, .. } = &principal.method else {
        return Ok(());
    };
    match access.and_then(|a| a.api_key) {
        None => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "api_key_not_allowed",
            "API keys cannot call this operation; sign in as the account instead",
        )),
        Some(scope) if !scopes.contains(&scope) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("this API key lacks the scope {}", scope.as_str()),
        )
        .with_data(serde_json::json!({ "required_scope": scope.as_str() }))),
        Some(_) => Ok(()),
    }
}

/// The route layer: authenticate the request's credential (the `Authorization: Bearer` header, or
/// `?access_token=` for EventSource clients), check it against the operation's declared access, and
/// hand the caller to the extractors.
pub async fn authenticate(
    State((state, table)): State<(AppState, Arc<AccessTable>)>,
    mut request: Request,
    next: Next,
) -> Response {
    let access = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|route| table.get(request.method(), route.as_str()))
        .cloned();
    let query = access
        .as_ref()
        .filter(|a| a.query_token)
        .and_then(|_| request.uri().query());
    let token = match credential(request.headers(), query) {
        Ok(token) => token,
        Err(err) => return err.into_response(),
    };
    let takes_credentials = access
        .as_ref()
        .is_some_and(|a| a.bearer || a.api_key.is_some());
    let principal = match token {
        // An operation for anonymous callers only (sign-in, webhooks) ignores an access token, but an
        // API key sent to it is refused rather than silently dropped.
        Some(token) if !takes_credentials => {
            if token.starts_with(API_KEY_PREFIX) {
                return admits(None, &key_placeholder())
                    .unwrap_err()
                    .into_response();
            }
            None
        }
        Some(token) => match crate::accounts::auth::authenticate(&state, &token).await {
            Ok(principal) => {
                if let Err(refusal) = admits(access.as_ref(), &principal) {
                    return refusal.into_response();
                }
                Some(principal)
            }
            Err(err) => return err.into_response(),
        },
        // Brigade's own pages call the API with their session and CSRF token.
        None if access.as_ref().is_some_and(|a| a.bearer) => {
            match crate::accounts::sessions::api_session(&state, request.headers()).await {
                Ok(principal) => principal,
                Err(err) => return err.into_response(),
            }
        }
        None => None,
    };
    request.extensions_mut().insert(Authenticated(principal));
    next.run(request).await
}

fn key_placeholder() -> Principal {
    Principal {
        user_id: uuid::Uuid::nil(),
        role: crate::accounts::Role::Customer,
        method: AuthMethod::ApiKey {
            key_id: uuid::Uuid::nil(),
            scopes: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table() -> AccessTable {
        AccessTable::from_openapi(&json!({"paths": {
            "/a": {"get": {"security": [{}, {"bearer": []}, {"api_key": ["orders:read"]}]},
                   "post": {"security": [{"bearer": []}]}},
            "/b": {"get": {}},
        }}))
        .unwrap()
    }

    fn key(scopes: Vec<Scope>) -> Principal {
        Principal {
            user_id: uuid::Uuid::nil(),
            role: crate::accounts::Role::Admin,
            method: AuthMethod::ApiKey {
                key_id: uuid::Uuid::nil(),
                scopes,
            },
        }
    }

    #[test]
    fn reads_each_operation_declaration() {
        let table = table();
        assert_eq!(
            table.get(&Method::GET, "/a"),
            Some(&OperationAccess {
                anonymous: true,
                bearer: true,
                api_key: Some(Scope::OrdersRead),
                query_token: false,
            })
        );
        assert_eq!(
            table.get(&Method::HEAD, "/a"),
            table.get(&Method::GET, "/a")
        );
        assert_eq!(
            table.get(&Method::POST, "/a"),
            Some(&OperationAccess {
                anonymous: false,
                bearer: true,
                api_key: None,
                query_token: false,
            })
        );
        assert_eq!(
            table.get(&Method::GET, "/b"),
            None,
            "no security: undeclared"
        );
    }

    #[test]
    fn keys_need_the_declared_scope_and_never_pass_undeclared_operations() {
        let table = table();
        let get = table.get(&Method::GET, "/a");
        assert!(admits(get, &key(vec![Scope::OrdersRead])).is_ok());
        assert_eq!(
            admits(get, &key(vec![Scope::OrdersWrite]))
                .unwrap_err()
                .code,
            "insufficient_scope"
        );
        let post = table.get(&Method::POST, "/a");
        assert_eq!(
            admits(post, &key(Scope::ALL.to_vec())).unwrap_err().code,
            "api_key_not_allowed"
        );
        assert_eq!(
            admits(None, &key(Scope::ALL.to_vec())).unwrap_err().code,
            "api_key_not_allowed"
        );
    }

    #[test]
    fn a_requirement_naming_an_unknown_scope_is_refused() {
        let err = AccessTable::from_openapi(&json!({"paths": {
            "/a": {"get": {"security": [{"api_key": ["orders:everything"]}]}}}}))
        .unwrap_err();
        assert!(err.to_string().contains("orders:everything"), "{err}");
    }
}
