//! One error type for every HTTP answer that is not a success, rendered as RFC 9457
//! `application/problem+json` with a stable machine-readable `code`. 5xx bodies say nothing
//! about the cause; the cause is logged.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchboard_store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// The request field at fault, when there is one.
    pub field: Option<String>,
    /// A list of problems (e.g. every error in a playbook), when there are several.
    pub errors: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    code: &'a str,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            field: None,
            errors: None,
        }
    }
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }
    pub fn invalid_field(field: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let detail = if detail.starts_with(field) {
            detail
        } else {
            format!("{field}: {detail}")
        };
        ApiError {
            field: Some(field.to_owned()),
            ..Self::bad_request("invalid_field", detail)
        }
    }
    /// The same error, naming the request field it is about.
    pub fn on_field(self, field: &str) -> Self {
        ApiError {
            field: Some(field.to_owned()),
            ..self
        }
    }
    /// [`ApiError::on_field`] when there is a field to name.
    pub fn on_some_field(self, field: Option<&str>) -> Self {
        match field {
            Some(f) => self.on_field(f),
            None => self,
        }
    }
    /// A store error, where `NotFound` means the named resource (a 404 that says which).
    pub fn from_store(what: &str) -> impl Fn(StoreError) -> ApiError + '_ {
        move |e| match e {
            StoreError::NotFound => ApiError::not_found(what),
            e => e.into(),
        }
    }
    /// An id from the path: one that does not parse names nothing, so it is a 404.
    pub fn path_id<T>(
        s: &str,
        parse: impl Fn(&str) -> Result<T, switchboard_core::ParseError>,
        what: &str,
    ) -> Result<T, ApiError> {
        parse(s).map_err(|_| ApiError::not_found(what))
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; it has been logged",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("the resource"),
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            StoreError::Contention(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the database was busy with a conflicting change; nothing was saved, try again",
            ),
            StoreError::Invalid(m) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "rule_violated", m)
            }
            StoreError::InvalidField(field, m) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "rule_violated", m).on_field(field)
            }
            StoreError::Closed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "the server is shutting down",
            ),
            StoreError::Forbidden(m) => ApiError::forbidden(m),
            StoreError::ReplyBlocked {
                explanation,
                findings,
            } => ApiError {
                errors: Some(findings),
                ..ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "reply_blocked",
                    explanation,
                )
            },
            StoreError::InvalidPlaybook(list) => ApiError {
                errors: serde_json::to_value(&list).ok(),
                ..ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_playbook",
                    format!(
                        "the playbook has {} problem(s); the active playbook is unchanged: {}",
                        list.len(),
                        list.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                )
            },
            e @ StoreError::Backend(_) => ApiError::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        crate::metrics::global().api_error(self.status.as_u16(), self.code);
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = Problem {
            kind: format!(
                "https://switchboard.invalid/problems/{}",
                self.code.replace('_', "-")
            ),
            title,
            status: self.status.as_u16(),
            code: self.code,
            detail: &self.detail,
            field: self.field.as_deref(),
            errors: self.errors.as_ref(),
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/problem+json")],
            json,
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED && self.code == "unauthorized" {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"switchboard\""),
            );
        }
        response
    }
}

/// `Json` whose rejections are problems naming the field, not axum's plain text.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_some_and(|m| {
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "the body is too large",
                )
            })?;
        parse_body(&bytes).map(Json)
    }
}

/// A request body: JSON, an object, and exactly the fields `T` has (unknown fields are
/// refused, so a typo is never silently ignored). Errors name the field by its path.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
    })?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "invalid_body",
            "the body must be a JSON object",
        ));
    }
    // A field given twice would silently be the last one: refused, by its path.
    if let Err(e) = serde_path_to_error::deserialize::<_, Unique>(
        &mut serde_json::Deserializer::from_slice(bytes),
    ) {
        let path = e.path().to_string();
        let field = match quoted_after(&e.inner().to_string(), "field `") {
            Some(name) if path == "." => name,
            Some(name) => format!("{path}.{name}"),
            None => path,
        };
        return Err(ApiError::invalid_field(
            &field,
            "is given twice; send it once",
        ));
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let why = e.inner().to_string();
        let named = |name: &str| {
            if path == "." {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            }
        };
        // A missing field's path is its parent's; an unknown field's path is the field itself.
        let field = match quoted_after(&why, "missing field `") {
            Some(name) => named(&name),
            None => path.clone(),
        };
        if field == "." {
            ApiError::bad_request("invalid_body", why)
        } else {
            ApiError::invalid_field(&field, body_error_in_words(&why))
        }
    })
}

/// Any JSON value, refusing an object that has the same key twice (`{"a":1,"a":2}`, which a
/// `Value` would keep as its last).
struct Unique;

impl<'de> serde::Deserialize<'de> for Unique {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Unique, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        while seq.next_element::<Unique>()?.is_some() {}
        Ok(Unique)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(serde::de::Error::custom(format!("duplicate field `{key}`")));
            }
            map.next_value::<Unique>()?;
            seen.insert(key);
        }
        Ok(Unique)
    }
}

/// serde's "missing field `label`" and "unknown field `why`, expected `label`" in words a
/// person reads; other messages as they are.
fn body_error_in_words(why: &str) -> String {
    if why.starts_with("missing field `") {
        return "is required".to_owned();
    }
    if let Some(rest) = why.strip_prefix("unknown field `")
        && let Some((_, expected)) = rest.split_once("`, ")
    {
        return format!("there is no such field ({expected})");
    }
    why.to_owned()
}

fn quoted_after(msg: &str, prefix: &str) -> Option<String> {
    let rest = msg.split(prefix).nth(1)?;
    Some(rest.split('`').next()?.to_owned())
}

/// A query value's parse error (`limit: invalid digit found in string`) in words a person
/// reads: what the field must be, and what came instead is named by the field.
fn in_plain_words(field: &str, why: &str) -> String {
    let said = why
        .strip_prefix(field)
        .and_then(|w| w.strip_prefix(": "))
        .unwrap_or(why);
    let plain = match said {
        "invalid digit found in string" | "cannot parse integer from empty string" => {
            "must be a whole number"
        }
        "number too large to fit in target type" => "is too large a number",
        "number too small to fit in target type" => "is too small a number",
        "invalid float literal" => "must be a number",
        "provided string was not `true` or `false`" => "must be true or false",
        _ => return why.to_owned(),
    };
    format!("{field}: {plain}")
}

/// `Path` whose rejections are 404s (an id that does not parse names nothing that exists).
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                Err(ApiError::not_found(&format!("path ({})", e.body_text())))
            }
            Err(e) => Err(ApiError::internal(e.body_text())),
        }
    }
}

/// `Query` whose rejections are problems.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                // "Failed to deserialize query string: limit: invalid digit found in string"
                let text = e.body_text();
                let why = text
                    .split_once("query string: ")
                    .map_or(text.as_str(), |(_, w)| w)
                    .to_owned();
                let field = quoted_after(&why, "unknown field `")
                    .or_else(|| quoted_after(&why, "missing field `"))
                    .or_else(|| {
                        why.split_once(": ")
                            .map(|(f, _)| f.to_owned())
                            .filter(|f| !f.contains(' '))
                    });
                Err(match field {
                    Some(f) => ApiError::invalid_field(&f, in_plain_words(&f, &why)),
                    None => ApiError::bad_request("invalid_query", why),
                })
            }
            Err(e) => Err(ApiError::bad_request("invalid_query", e.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        label: String,
        #[serde(default)]
        then: serde_json::Value,
    }

    #[test]
    fn a_field_given_twice_is_refused_by_its_path() {
        let e = parse_body::<Body>(br#"{"label":"negative","label":"positive"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("label"), "{e:?}");
        assert_eq!(e.detail, "label: is given twice; send it once");
        let e = parse_body::<Body>(br#"{"label":"a","then":{"x":[1,{"y":1,"y":2}]}}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("then.x[1].y"), "{e:?}");
        // The same key in different objects is no repeat.
        let ok = parse_body::<Body>(br#"{"label":"a","then":[{"y":1},{"y":2}]}"#).unwrap();
        assert_eq!(ok.label, "a");
    }
}
