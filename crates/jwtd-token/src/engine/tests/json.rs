//! The JSON inside the segments: header members jwtd refuses or tolerates, duplicate members,
//! and segments that are not one JSON object.

use super::*;

#[test]
fn crit_b64_false_and_zip_headers_are_refused() {
    let engine = hs256();
    let claims = good().to_string();
    for header in [
        r#"{"alg":"HS256","typ":"JWT","crit":["exp"],"exp":1}"#,
        r#"{"alg":"HS256","typ":"JWT","crit":["b64"],"b64":true}"#,
        r#"{"alg":"HS256","typ":"JWT","crit":[]}"#,
        r#"{"alg":"HS256","typ":"JWT","crit":null}"#,
        r#"{"alg":"HS256","typ":"JWT","b64":false}"#,
        r#"{"alg":"HS256","typ":"JWT","b64":false,"crit":["b64"]}"#,
        r#"{"alg":"HS256","typ":"JWT","b64":"false"}"#,
        r#"{"alg":"HS256","typ":"JWT","b64":0}"#,
        r#"{"alg":"HS256","typ":"JWT","b64":null}"#,
        r#"{"alg":"HS256","typ":"JWT","zip":"DEF"}"#,
        r#"{"alg":"HS256","typ":"JWT","zip":null}"#,
    ] {
        let token = mint(&engine, header, &claims);
        assert_invalid(&engine, &token);
    }
    // Tolerated: b64 true (the default), and the extra fields of the contract (kid, cty).
    for header in [
        r#"{"alg":"HS256","typ":"JWT","b64":true}"#,
        r#"{"alg":"HS256","typ":"JWT","kid":"key-1"}"#,
        r#"{"alg":"HS256","typ":"JWT","cty":"JWT"}"#,
        r#"{"typ":"JWT","alg":"HS256"}"#,
        r#"{ "alg" : "HS256" , "typ" : "JWT" }"#,
    ] {
        let token = mint(&engine, header, &claims);
        accepted(&engine, &token, NOW);
    }
}

#[test]
fn duplicate_members_are_refused() {
    let engine = hs256();
    let header = HEADER;
    let body = format!(
        r#""token_type":"access","exp":{},"iat":{NOW},"jti":"{JTI}","user_id":"1""#,
        NOW + 300
    );
    let control = mint(&engine, header, format!("{{{body}}}"));
    accepted(&engine, &control, NOW);
    for payload in [
        format!(r#"{{{body},"exp":{}}}"#, NOW + 300),
        format!(r#"{{{body},"exp":{}}}"#, NOW + 99_999),
        format!(r#"{{{body},"user_id":"2"}}"#),
        format!(r#"{{{body},"token_type":"refresh"}}"#),
        format!(r#"{{{body},"jti":"{JTI}"}}"#),
        format!(r#"{{{body},"\u0065xp":{}}}"#, NOW + 99_999),
        format!(r#"{{"aud":"a",{body},"aud":"b"}}"#),
    ] {
        let token = mint(&engine, header, &payload);
        assert_invalid(&engine, &token);
    }
    for header in [
        r#"{"alg":"HS256","alg":"HS256","typ":"JWT"}"#,
        r#"{"alg":"none","alg":"HS256","typ":"JWT"}"#,
        r#"{"alg":"HS256","typ":"JWT","typ":"JWT"}"#,
        r#"{"alg":"HS256","typ":"JWT","crit":["x"],"crit":["x"]}"#,
    ] {
        let token = mint(&engine, header, format!("{{{body}}}"));
        assert_invalid(&engine, &token);
    }
}

#[test]
fn non_object_segments_are_refused() {
    let engine = hs256();
    let header = HEADER;
    for payload in [
        &b"[]"[..],
        b"[1,2]",
        b"1",
        b"\"x\"",
        b"null",
        b"true",
        b"",
        b" ",
        b"{",
        b"{\"a\":1",
        b"{\"a\":1} x",
        b"{\"a\":1}{}",
        b"not json",
        b"{'a':1}",
        b"{\"a\":1,}",
        b"{\"a\":\"\xff\xfe\"}",
        b"\xef\xbb\xbf{\"a\":1}",
        b"{\"a\":\"\\ud800\"}",
    ] {
        let token = mint(&engine, header, payload);
        assert_invalid(&engine, &token);
    }
    let claims = good().to_string();
    for header in [
        r#"["HS256"]"#,
        r#""HS256""#,
        "null",
        "",
        r#"{"alg":"HS256""#,
    ] {
        let token = mint(&engine, header, &claims);
        assert_invalid(&engine, &token);
    }
}
