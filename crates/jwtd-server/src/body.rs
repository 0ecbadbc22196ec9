//! Request bodies as DRF reads them: JSON, form-urlencoded or multipart, then validated field by
//! field with DRF's `CharField` rules and messages.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// The largest request body read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request body parsed into DRF's `request.data`: an object of fields.
#[derive(Debug)]
pub struct Fields(Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let Some(content_type) = content_type else {
            // DRF reads no body without a media type: every field is missing.
            return Ok(Fields(Map::new()));
        };
        let media_type = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match media_type.as_str() {
            "application/json" => {
                let bytes = read_body(req, state).await?;
                if bytes.is_empty() {
                    return Ok(Fields(Map::new()));
                }
                let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
                    ApiError::Parse(format!(
                        "JSON parse error - {}",
                        python_json_message(&e, &bytes)
                    ))
                })?;
                match value {
                    Value::Object(map) => Ok(Fields(map)),
                    Value::Null => Err(ApiError::NonField("No data provided".to_owned())),
                    other => Err(ApiError::NonField(format!(
                        "Invalid data. Expected a dictionary, but got {}.",
                        python_type_name(&other)
                    ))),
                }
            }
            "application/x-www-form-urlencoded" => {
                let bytes = read_body(req, state).await?;
                let pairs: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(&bytes).map_err(|_| {
                        ApiError::Parse("Form parse error - invalid encoding".to_owned())
                    })?;
                // A repeated key keeps its last value, as Django's QueryDict does for CharField.
                Ok(Fields(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect(),
                ))
            }
            "multipart/form-data" => {
                let mut multipart = Multipart::from_request(req, state).await.map_err(|e| {
                    ApiError::Parse(format!("Multipart form parse error - {}", e.body_text()))
                })?;
                let mut map = Map::new();
                while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
                    let Some(name) = field.name().map(str::to_owned) else {
                        continue;
                    };
                    if field.file_name().is_some() {
                        // Uploaded files go to request.FILES in DRF, not to the fields.
                        continue;
                    }
                    // Bytes as sent, decoded as UTF-8 like Django (no BOM sniffing).
                    let bytes = field.bytes().await.map_err(multipart_error)?;
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    map.insert(name, Value::String(text));
                }
                Ok(Fields(map))
            }
            _ => Err(ApiError::UnsupportedMediaType(content_type)),
        }
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::Parse(format!("Multipart form parse error - {}", e.body_text()))
    }
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::Parse(format!("Body read error - {}", rejection.body_text()))
        }
    })
}

impl Fields {
    /// Whether the body has field `name` at all (a browser in cookie mode sends none).
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Reads the string fields `names` in order with DRF `CharField` rules (trimmed, not blank),
    /// collecting every field's error like a serializer does.
    pub fn strings<const N: usize>(&self, names: [&str; N]) -> Result<[String; N], ApiError> {
        let mut errors = Vec::new();
        let values = names.map(|name| match char_field(self.0.get(name)) {
            Ok(value) => value,
            Err(message) => {
                errors.push((name.to_owned(), message.into()));
                String::new()
            }
        });
        if errors.is_empty() {
            Ok(values)
        } else {
            Err(ApiError::Fields(errors))
        }
    }
}

/// DRF `CharField(trim_whitespace=True, allow_blank=False, allow_null=False)`.
fn char_field(value: Option<&Value>) -> Result<String, &'static str> {
    let text = match value {
        None => return Err("This field is required."),
        Some(Value::Null) => return Err("This field may not be null."),
        Some(Value::String(s)) => s.trim().to_owned(),
        // DRF coerces numbers with str(): 12345 -> "12345".
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err("Not a valid string."),
    };
    if text.is_empty() {
        Err("This field may not be blank.")
    } else {
        Ok(text)
    }
}

fn python_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Python's `json` error text for the common cases, so clients that show DRF's message see the
/// same words: `Expecting value: line 1 column 1 (char 0)`.
fn python_json_message(error: &serde_json::Error, bytes: &[u8]) -> String {
    let line = error.line().max(1);
    let column = error.column().max(1);
    let text = error.to_string();
    let what = if text.starts_with("trailing characters") {
        "Extra data"
    } else if text.starts_with("key must be a string") {
        "Expecting property name enclosed in double quotes"
    } else if text.starts_with("expected `:`") {
        "Expecting ':' delimiter"
    } else if text.starts_with("expected `,` or `}`") || text.starts_with("expected `,` or `]`") {
        "Expecting ',' delimiter"
    } else if text.starts_with("EOF while parsing a string") {
        "Unterminated string starting at"
    } else if text.starts_with("invalid unicode code point") || text.starts_with("invalid escape") {
        "Invalid \\escape"
    } else {
        "Expecting value"
    };
    // Python counts characters from 0; serde_json reports the 1-based column of the offending
    // character on its line.
    let line_start: usize = bytes
        .split(|b| *b == b'\n')
        .take(line - 1)
        .map(|l| l.len() + 1)
        .sum();
    let char_index = line_start + column - 1;
    format!("{what}: line {line} column {column} (char {char_index})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn char_field_follows_drf() {
        assert_eq!(char_field(None), Err("This field is required."));
        assert_eq!(
            char_field(Some(&json!(null))),
            Err("This field may not be null.")
        );
        assert_eq!(
            char_field(Some(&json!(""))),
            Err("This field may not be blank.")
        );
        assert_eq!(
            char_field(Some(&json!("  "))),
            Err("This field may not be blank.")
        );
        assert_eq!(char_field(Some(&json!(true))), Err("Not a valid string."));
        assert_eq!(char_field(Some(&json!(["a"]))), Err("Not a valid string."));
        assert_eq!(char_field(Some(&json!(12345))), Ok("12345".to_owned()));
        assert_eq!(char_field(Some(&json!(" alice "))), Ok("alice".to_owned()));
    }

    #[test]
    fn json_errors_read_like_python() {
        let bytes = b"username=alice";
        let e = serde_json::from_slice::<Value>(bytes).unwrap_err();
        assert_eq!(
            python_json_message(&e, bytes),
            "Expecting value: line 1 column 1 (char 0)"
        );
    }
}
