//! The refresh token in an httpOnly cookie (`refresh_cookie = true`, browser.md): reading it,
//! setting and clearing it with the CSRF cookie beside it, and the double-submit CSRF check a
//! request authenticated by the cookie must pass.
//!
//! Cookies are parsed and written with the `cookie` crate; the comparisons are jwtd's.

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::Cookie;

use crate::config::browser::{CSRF_COOKIE, CSRF_HEADER, RefreshCookie, SameSite};
use crate::error::ApiError;
use crate::state::AppState;

/// The longest cookie value read; a longer one is treated as absent (a token is far shorter).
const MAX_COOKIE_VALUE: usize = 16 * 1024;

/// The value of cookie `name` in the request's `Cookie` headers; malformed pairs are skipped, a
/// value that is empty, too long or not made of RFC 6265 cookie-octets counts as absent, and of
/// two cookies of one name the first counts (as Django reads them).
pub fn request_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        // Read as Latin-1, as Django (WSGI) does: another site cookie with a byte beyond ASCII
        // must not hide the refresh cookie.
        .map(|value| {
            value
                .as_bytes()
                .iter()
                .map(|&b| char::from(b))
                .collect::<String>()
        })
        .flat_map(|text| {
            Cookie::split_parse(text)
                .filter_map(Result::ok)
                .map(Cookie::into_owned)
                .collect::<Vec<_>>()
        })
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
        // RFC 6265 cookie-octets only: a value with other bytes is malformed, hence absent.
        .filter(|value| {
            !value.is_empty()
                && value.len() <= MAX_COOKIE_VALUE
                && value
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\'))
        })
}

fn same_site(setting: SameSite) -> cookie::SameSite {
    match setting {
        SameSite::Strict => cookie::SameSite::Strict,
        SameSite::Lax => cookie::SameSite::Lax,
    }
}

fn set_cookie(cookie: Cookie<'_>) -> HeaderValue {
    // Names and paths are checked at start-up and values are base64url or hex: always a valid
    // header value.
    HeaderValue::from_str(&cookie.to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// `Set-Cookie` for the refresh token: httpOnly, scoped to the token paths, `max_age` seconds.
pub fn refresh_cookie(settings: &RefreshCookie, token: &str, max_age: i64) -> HeaderValue {
    set_cookie(
        Cookie::build((settings.name.clone(), token.to_owned()))
            .http_only(true)
            .secure(settings.secure)
            .same_site(same_site(settings.same_site))
            .path(settings.path.clone())
            .max_age(cookie::time::Duration::seconds(max_age.max(0)))
            .build(),
    )
}

/// `Set-Cookie` that removes the refresh cookie.
pub fn clear_refresh_cookie(settings: &RefreshCookie) -> HeaderValue {
    refresh_cookie(settings, "", 0)
}

/// `Set-Cookie` for Django's `csrftoken`: readable by the page's script (that is the point of a
/// double submit), on the whole site.
pub fn csrf_cookie(settings: &RefreshCookie, value: &str, max_age: i64) -> HeaderValue {
    set_cookie(
        Cookie::build((CSRF_COOKIE, value.to_owned()))
            .secure(settings.secure)
            .same_site(same_site(settings.same_site))
            .path("/")
            .max_age(cookie::time::Duration::seconds(max_age.max(0)))
            .build(),
    )
}

/// A new CSRF secret: 128 random bits as 32 hex characters.
pub fn new_csrf_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// DRF's 403 for a failed CSRF check (`CSRF Failed: <Django's reason>`).
fn failed(reason: &str) -> ApiError {
    ApiError::Forbidden(format!("CSRF Failed: {reason}"))
}

/// The double-submit check of a request authenticated by the refresh cookie: an `Origin`, when
/// sent, must be this server's own (its `Host`, or `public_url`) or one of
/// `cors_allowed_origins` (never `*`); `X-CSRFToken` must equal the `csrftoken` cookie,
/// compared in constant time. Django's reasons, as DRF reports them.
///
/// `authority` is the request URI's (HTTP/2's `:authority`, which replaces `Host` there).
pub fn check_csrf(
    state: &AppState,
    headers: &HeaderMap,
    authority: Option<&str>,
) -> Result<(), ApiError> {
    check_origin(state, headers, authority)?;
    let Some(cookie) = request_cookie(headers, CSRF_COOKIE) else {
        return Err(failed("CSRF cookie not set."));
    };
    let Some(sent) = headers.get(CSRF_HEADER) else {
        return Err(failed("CSRF token missing."));
    };
    // Django's format check comes before the comparison, with its own reasons.
    let sent = sent.as_bytes();
    if sent.len() != 32 && sent.len() != 64 {
        return Err(failed(
            "CSRF token from the 'X-Csrftoken' HTTP header has incorrect length.",
        ));
    }
    if !sent.iter().all(u8::is_ascii_alphanumeric) {
        return Err(failed(
            "CSRF token from the 'X-Csrftoken' HTTP header has invalid characters.",
        ));
    }
    if aws_lc_rs::constant_time::verify_slices_are_equal(sent, cookie.as_bytes()).is_err() {
        return Err(failed(
            "CSRF token from the 'X-Csrftoken' HTTP header incorrect.",
        ));
    }
    Ok(())
}

/// The `Origin` check alone: a request that carries one must come from a trusted origin. In
/// cookie mode a login must pass it too, or another site could log the browser in as somebody
/// else (login CSRF) by posting a form.
pub fn check_origin(
    state: &AppState,
    headers: &HeaderMap,
    authority: Option<&str>,
) -> Result<(), ApiError> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        if !trusted_origin(state, headers, authority, origin) {
            return Err(failed(&format!(
                "Origin checking failed - {origin} does not match any trusted origins."
            )));
        }
    }
    Ok(())
}

/// Whether `origin` may send cookie-authenticated requests: the server's own (`scheme://` +
/// the request's `Host`, which a browser sets to this server; or `public_url`), or listed.
fn trusted_origin(
    state: &AppState,
    headers: &HeaderMap,
    authority: Option<&str>,
    origin: &str,
) -> bool {
    let config = state.config();
    if config.keys.public_url.as_deref() == Some(origin) {
        return true;
    }
    if config
        .server
        .cors
        .allowed_origins
        .iter()
        .any(|allowed| allowed != "*" && allowed == origin)
    {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or(authority);
    let own_scheme = if config.server.tls.is_some() {
        "https://"
    } else {
        "http://"
    };
    match (origin.strip_prefix(own_scheme), host) {
        (Some(authority), Some(host)) => authority.eq_ignore_ascii_case(host),
        _ => false,
    }
}
