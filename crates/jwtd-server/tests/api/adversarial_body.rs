//! Property tests of request-body parsing (`jwtd_server::body::Fields`, the extractor every
//! token view uses), bounded so they run in CI: for any bytes under any media type the parser
//! never panics and never answers 5xx; what a client encodes properly reads back as DRF reads
//! it. The same extractor is fuzzed without bounds by `fuzz/fuzz_targets/body.rs`.
//!
//! `PROPTEST_CASES=100000 cargo test -p jwtd-server --test api adversarial_body` runs longer.

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::Request;
use axum::response::IntoResponse;
use jwtd_server::body::Fields;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Parses `body` under `content_type` as a token view would; `Ok` fields or the error's status.
fn parse(content_type: Option<&str>, body: Vec<u8>) -> Result<Fields, u16> {
    let mut request = Request::builder().method("POST").uri("/api/token/");
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let request = request.body(Body::from(body)).expect("request builds");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime
        .block_on(Fields::from_request(request, &()))
        .map_err(|e| e.into_response().status().as_u16())
}

/// DRF's reading of two `CharField`s, or the status of the refusal.
fn credentials(fields: &Fields) -> Result<[String; 2], u16> {
    fields
        .strings(["username", "password"])
        .map_err(|e| e.into_response().status().as_u16())
}

fn content_types() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json".to_owned())),
        Just(Some("application/json; charset=utf-8".to_owned())),
        Just(Some("application/x-www-form-urlencoded".to_owned())),
        Just(Some("multipart/form-data; boundary=XyZ".to_owned())),
        Just(Some("multipart/form-data".to_owned())),
        Just(Some("text/plain".to_owned())),
        "[ -~]{0,40}".prop_map(Some),
    ]
}

/// Bytes that look like one of the three formats often enough to get past the first byte.
fn bodies() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        r#"[\[\]{}":,a-z0-9 .\\u-]{0,256}"#.prop_map(String::into_bytes),
        "[a-z0-9=&%+._-]{0,256}".prop_map(String::into_bytes),
        r#"(--XyZ\r\nContent-Disposition: form-data; name="[a-z]{0,8}"(; filename="f")?\r\n\r\n[ -~]{0,20}\r\n){0,4}(--XyZ--\r\n)?"#
            .prop_map(String::into_bytes),
    ]
}

fn json_values() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(("(username|password|[a-z]{1,6})", inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// DRF `CharField`: strings trimmed, numbers as text, the rest refused.
fn char_field(value: Option<&Value>) -> Option<String> {
    let text = match value? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

proptest! {
    // Failures are reported with their minimal input; nothing is written into the source tree.
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Off)),
        ..ProptestConfig::default()
    })]

    /// Any bytes, any media type: an answer, never a panic, never a 5xx.
    #[test]
    fn any_body_gets_a_4xx_or_fields(content_type in content_types(), body in bodies()) {
        match parse(content_type.as_deref(), body) {
            Ok(fields) => {
                if let Err(status) = credentials(&fields) {
                    prop_assert_eq!(status, 400);
                }
            }
            Err(status) => prop_assert!((400..500).contains(&status), "status {}", status),
        }
    }

    /// JSON: an object gives its fields, anything else a 400.
    #[test]
    fn json_reads_like_drf(value in json_values()) {
        let body = serde_json::to_vec(&value).unwrap();
        // What the client meant is what a JSON reader reads back (serde_json may round a float
        // by one unit in the last place; Python would not, and no credential is a float).
        let value: Value = serde_json::from_slice(&body).unwrap();
        match (parse(Some("application/json"), body), &value) {
            (Ok(fields), Value::Object(map)) => {
                let expected = [char_field(map.get("username")), char_field(map.get("password"))];
                match credentials(&fields) {
                    Ok([username, password]) => {
                        prop_assert_eq!(Some(username), expected[0].clone());
                        prop_assert_eq!(Some(password), expected[1].clone());
                    }
                    Err(status) => {
                        prop_assert_eq!(status, 400);
                        prop_assert!(expected.iter().any(Option::is_none));
                    }
                }
            }
            (Err(status), other) => {
                prop_assert!(!other.is_object(), "an object was refused");
                prop_assert_eq!(status, 400);
            }
            (Ok(_), other) => prop_assert!(false, "accepted a non-object: {}", other),
        }
    }

    /// Form and multipart bodies a client encodes read back as the values sent (trimmed), a
    /// leading U+FEFF included (Django keeps it; no byte-order-mark sniffing).
    #[test]
    fn encoded_credentials_read_back(username in "[^\r\n]{1,24}", password in "[^\r\n]{1,24}") {
        let expected = [username.trim().to_owned(), password.trim().to_owned()];
        let form = serde_urlencoded::to_string([("username", &username), ("password", &password)]).unwrap();
        let multipart = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n{username}\r\n\
             --XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n{password}\r\n--XyZ--\r\n"
        );
        for (content_type, body) in [
            ("application/x-www-form-urlencoded", form.into_bytes()),
            ("multipart/form-data; boundary=XyZ", multipart.into_bytes()),
        ] {
            prop_assume!(!username.contains("--XyZ") && !password.contains("--XyZ"));
            let fields = parse(Some(content_type), body).map_err(|s| TestCaseError::fail(format!("{content_type}: {s}")))?;
            match credentials(&fields) {
                Ok(found) => prop_assert_eq!(&found, &expected, "{}", content_type),
                Err(status) => {
                    prop_assert_eq!(status, 400);
                    prop_assert!(expected.iter().any(String::is_empty), "{}", content_type);
                }
            }
        }
    }
}

/// A multipart value that starts with U+FEFF (or with bytes FF FE) keeps its bytes: no
/// byte-order-mark sniffing, as Django.
#[test]
fn multipart_values_keep_a_leading_byte_order_mark() {
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n\u{feff}alice\r\n\
                --XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\npw\r\n--XyZ--\r\n";
    let fields = parse(Some("multipart/form-data; boundary=XyZ"), body.into()).unwrap();
    assert_eq!(
        credentials(&fields).unwrap(),
        ["\u{feff}alice".to_owned(), "pw".to_owned()]
    );
}
