//! What tokens say and how they live: lifetimes, leeway, audience and issuer, claim names, and
//! simplejwt's rotation, blacklisting and last-login switches.

use jwtd_token::{ClaimNames, Policy};

use super::ConfigError;
use super::sources::RawConfig;
use super::values::{invalid, lifetime};

/// Token issuing and refreshing.
#[derive(Clone, Debug)]
pub struct TokenConfig {
    /// Lifetimes, leeway, `audience`, `issuer` and claim names, for the token engine.
    pub policy: Policy,
    /// `rotate_refresh_tokens` (simplejwt `ROTATE_REFRESH_TOKENS`).
    pub rotate_refresh_tokens: bool,
    /// `blacklist_after_rotation` (simplejwt `BLACKLIST_AFTER_ROTATION`).
    pub blacklist_after_rotation: bool,
    /// `update_last_login` (simplejwt `UPDATE_LAST_LOGIN`).
    pub update_last_login: bool,
}

impl TokenConfig {
    /// Checks the token settings, taking them out of `raw`.
    pub(super) fn from_raw(raw: &mut RawConfig) -> Result<TokenConfig, ConfigError> {
        let claims = ClaimNames {
            token_type: claim_name(
                "token_type_claim",
                raw.token_type_claim.take(),
                "token_type",
            )?,
            jti: claim_name("jti_claim", raw.jti_claim.take(), "jti")?,
            user_id: claim_name("user_id_claim", raw.user_id_claim.take(), "user_id")?,
            refresh_exp: claim_name(
                "sliding_token_refresh_exp_claim",
                raw.sliding_token_refresh_exp_claim.take(),
                "refresh_exp",
            )?,
        };
        let policy = Policy {
            access_lifetime: lifetime(
                "access_token_lifetime",
                raw.access_token_lifetime.take(),
                300,
            )?,
            refresh_lifetime: lifetime(
                "refresh_token_lifetime",
                raw.refresh_token_lifetime.take(),
                86_400,
            )?,
            sliding_lifetime: lifetime(
                "sliding_token_lifetime",
                raw.sliding_token_lifetime.take(),
                300,
            )?,
            sliding_refresh_lifetime: lifetime(
                "sliding_token_refresh_lifetime",
                raw.sliding_token_refresh_lifetime.take(),
                86_400,
            )?,
            leeway: raw.leeway.take().map_or(0, |s| s.0),
            audience: raw.audience.take().filter(|a| !a.is_empty()),
            issuer: raw.issuer.take().filter(|i| !i.is_empty()),
            claims,
        };
        Ok(TokenConfig {
            policy,
            rotate_refresh_tokens: raw.rotate_refresh_tokens.take().unwrap_or(false),
            blacklist_after_rotation: raw.blacklist_after_rotation.take().unwrap_or(false),
            update_last_login: raw.update_last_login.take().unwrap_or(false),
        })
    }
}

/// A claim's name: never empty, never one of the registered time, audience or issuer claims
/// (the engine checks those itself, so a token could not carry both meanings).
fn claim_name(
    setting: &'static str,
    value: Option<String>,
    default: &str,
) -> Result<String, ConfigError> {
    let name = value.unwrap_or_else(|| default.to_owned());
    if name.is_empty() || ["exp", "iat", "nbf", "aud", "iss"].contains(&name.as_str()) {
        return Err(invalid(
            setting,
            format!("{name:?} cannot be used as this claim's name"),
        ));
    }
    Ok(name)
}
