//! Browsers: the refresh token in an httpOnly cookie with CSRF protection (browser.md).

use super::ConfigError;
use super::sources::RawConfig;
use super::values::invalid;

/// Django's CSRF cookie name, which front-ends written for Django already read.
pub const CSRF_COOKIE: &str = "csrftoken";
/// Django's CSRF header (`X-CSRFToken`).
pub const CSRF_HEADER: &str = "x-csrftoken";

/// `SameSite` of the refresh and CSRF cookies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on same-site requests only (the default).
    Strict,
    /// Also sent on top-level navigations from other sites.
    Lax,
}

/// `refresh_cookie` and its settings; `None` when it is off (simplejwt's body tokens only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshCookie {
    /// `refresh_cookie_name` (default `refresh`).
    pub name: String,
    /// `refresh_cookie_path` (default `/api/token/`): the cookie is sent only to the token
    /// endpoints.
    pub path: String,
    /// `refresh_cookie_secure` (default true): false only for plain-HTTP development.
    pub secure: bool,
    /// `refresh_cookie_samesite` (default `Strict`).
    pub same_site: SameSite,
}

/// The browser settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrowserConfig {
    /// The refresh cookie, when `refresh_cookie = true`.
    pub refresh_cookie: Option<RefreshCookie>,
}

impl BrowserConfig {
    /// Checks the browser settings, taking them out of `raw`.
    pub(super) fn from_raw(raw: &mut RawConfig) -> Result<BrowserConfig, ConfigError> {
        let enabled = raw.refresh_cookie.take().unwrap_or(false);
        let name = raw
            .refresh_cookie_name
            .take()
            .unwrap_or_else(|| "refresh".to_owned());
        // A cookie name is an RFC 6265 token: visible ASCII without separators.
        if name.is_empty()
            || name == CSRF_COOKIE
            || !name
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
        {
            return Err(invalid(
                "refresh_cookie_name",
                format!("{name:?} cannot be a cookie name here"),
            ));
        }
        let path = raw
            .refresh_cookie_path
            .take()
            .unwrap_or_else(|| "/api/token/".to_owned());
        if !path.starts_with('/') || path.bytes().any(|b| !b.is_ascii_graphic() || b == b';') {
            return Err(invalid(
                "refresh_cookie_path",
                format!("{path:?} is not a URL path"),
            ));
        }
        let secure = raw.refresh_cookie_secure.take().unwrap_or(true);
        let same_site = match raw.refresh_cookie_samesite.take().as_deref() {
            None | Some("Strict" | "strict") => SameSite::Strict,
            Some("Lax" | "lax") => SameSite::Lax,
            Some(other) => {
                return Err(invalid(
                    "refresh_cookie_samesite",
                    format!("{other:?}: use Strict or Lax"),
                ));
            }
        };
        Ok(BrowserConfig {
            refresh_cookie: enabled.then_some(RefreshCookie {
                name,
                path,
                secure,
                same_site,
            }),
        })
    }
}
