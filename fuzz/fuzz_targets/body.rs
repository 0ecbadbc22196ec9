//! Request-body parsing (`jwtd_server::body::Fields`, the extractor of every token view) on any
//! bytes under a fuzzer-chosen media type: an answer, never a panic, never a 5xx.
//!
//! Input layout: the first byte picks the `Content-Type`; with the last choice the media type
//! is the input up to the first newline.

#![no_main]

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::Request;
use axum::response::IntoResponse;
use jwtd_server::body::Fields;
use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: [Option<&str>; 7] = [
    None,
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("application/x-www-form-urlencoded"),
    Some("multipart/form-data; boundary=XyZ"),
    Some("multipart/form-data; boundary=\"a b\""),
    Some("multipart/form-data"),
];

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let choice = usize::from(choice) % (CONTENT_TYPES.len() + 1);
    let (content_type, body): (Option<String>, &[u8]) = match CONTENT_TYPES.get(choice) {
        Some(ct) => (ct.map(str::to_owned), rest),
        None => {
            let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            let ct = String::from_utf8_lossy(&rest[..end]).into_owned();
            (Some(ct), rest.get(end + 1..).unwrap_or_default())
        }
    };
    let mut request = Request::builder().method("POST").uri("/api/token/");
    if let Some(ct) = &content_type {
        request = request.header("content-type", ct.as_str());
    }
    // A media type no header can carry is the HTTP layer's to refuse, not the parser's.
    let Ok(request) = request.body(Body::from(body.to_vec())) else {
        return;
    };
    let result = RUNTIME.with(|rt| rt.block_on(Fields::from_request(request, &())));
    match result {
        Ok(fields) => {
            if let Err(e) = fields.strings(["username", "password"]) {
                assert_eq!(e.into_response().status().as_u16(), 400);
            }
            if let Err(e) = fields.strings(["token"]) {
                assert_eq!(e.into_response().status().as_u16(), 400);
            }
        }
        Err(e) => {
            let status = e.into_response().status().as_u16();
            assert!((400..500).contains(&status), "status {status}");
        }
    }
});
