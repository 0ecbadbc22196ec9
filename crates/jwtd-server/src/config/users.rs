//! Whose users jwtd serves and how it reads them: its own schema or a Django project's tables,
//! the login field, the user id claim's column, the password hashers, and what user data goes
//! into the tokens.

use jwtd_password::{Algorithm, DJANGO_PBKDF2_ITERATIONS, Hashers};
use jwtd_store::django::DjangoNames;

use super::ConfigError;
use super::sources::RawConfig;
use super::values::invalid;

/// Which tables hold the users and tokens (`database_schema`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseSchema {
    /// jwtd's own tables, migrated by jwtd.
    Jwtd,
    /// A Django project's tables, never created or altered by jwtd.
    Django(DjangoNames),
}

/// The users' settings.
#[derive(Clone, Debug)]
pub struct UsersConfig {
    /// `database_schema`, with the Django table and column names in Django mode.
    pub schema: DatabaseSchema,
    /// `username_field`: the column looked up at login and the login body's field name.
    pub username_field: String,
    /// `password_hashers` and `pbkdf2_iterations`: Django's `PASSWORD_HASHERS`.
    pub hashers: Hashers,
    /// `token_claims`: user fields copied into new tokens after the user id claim.
    pub token_claims: Vec<String>,
    /// `check_revoke_token` with its `revoke_token_claim`: the claim carrying the MD5 of the
    /// stored password, so a password change revokes earlier tokens (simplejwt's settings).
    pub revoke_token_claim: Option<String>,
}

impl UsersConfig {
    /// Checks the users' settings, taking them out of `raw`.
    pub(super) fn from_raw(raw: &mut RawConfig) -> Result<UsersConfig, ConfigError> {
        let schema_name = raw
            .database_schema
            .take()
            .unwrap_or_else(|| "jwtd".to_owned());
        let username_field = raw
            .username_field
            .take()
            .unwrap_or_else(|| "username".to_owned());
        let user_id_field = raw.user_id_field.take().unwrap_or_else(|| "id".to_owned());
        let user_table = raw.django_user_table.take();
        let groups_table = raw.django_user_groups_table.take();
        let groups_column = raw.django_user_groups_column.take();
        let schema = match schema_name.as_str() {
            "jwtd" => {
                for (setting, set) in [
                    ("django_user_table", user_table.is_some()),
                    ("django_user_groups_table", groups_table.is_some()),
                    ("django_user_groups_column", groups_column.is_some()),
                ] {
                    if set {
                        return Err(invalid(
                            setting,
                            "is a setting of database_schema = \"django\"",
                        ));
                    }
                }
                if username_field != "username" && username_field != "email" {
                    return Err(invalid(
                        "username_field",
                        format!(
                            "{username_field:?}: jwtd's own users log in by username or email; \
                             other login fields need database_schema = \"django\""
                        ),
                    ));
                }
                if user_id_field != "id" {
                    return Err(invalid(
                        "user_id_field",
                        format!(
                            "{user_id_field:?}: jwtd's own users are identified by id; other \
                             columns need database_schema = \"django\""
                        ),
                    ));
                }
                DatabaseSchema::Jwtd
            }
            "django" => DatabaseSchema::Django(
                DjangoNames::new(
                    user_table.as_deref().unwrap_or("auth_user"),
                    &username_field,
                    &user_id_field,
                    groups_table.as_deref(),
                    groups_column.as_deref().unwrap_or("user_id"),
                )
                .map_err(|reason| invalid("database_schema", reason))?,
            ),
            other => {
                return Err(invalid(
                    "database_schema",
                    format!("{other:?}: use jwtd or django"),
                ));
            }
        };
        let hashers = hashers(
            &schema,
            raw.password_hashers.take(),
            raw.pbkdf2_iterations.take(),
        )?;
        let token_claims = raw.token_claims.take().unwrap_or_default();
        for (n, field) in token_claims.iter().enumerate() {
            if token_claims[..n].contains(field) {
                return Err(invalid(
                    "token_claims",
                    format!("{field:?} is listed twice"),
                ));
            }
        }
        let check_revoke_token = raw.check_revoke_token.take().unwrap_or(false);
        let claim = raw
            .revoke_token_claim
            .take()
            .unwrap_or_else(|| "hash_password".to_owned());
        if claim.is_empty() {
            return Err(invalid("revoke_token_claim", "must not be empty"));
        }
        Ok(UsersConfig {
            schema,
            username_field,
            hashers,
            token_claims,
            revoke_token_claim: check_revoke_token.then_some(claim),
        })
    }

    /// Whether the users are a Django project's.
    pub fn is_django(&self) -> bool {
        matches!(self.schema, DatabaseSchema::Django(_))
    }

    /// Whether logins look jwtd's own users up by their email (`username_field = "email"` in
    /// jwtd's schema; in Django mode the store reads the configured column itself).
    pub fn login_by_email(&self) -> bool {
        self.schema == DatabaseSchema::Jwtd && self.username_field == "email"
    }
}

fn hashers(
    schema: &DatabaseSchema,
    list: Option<Vec<String>>,
    iterations: Option<usize>,
) -> Result<Hashers, ConfigError> {
    let iterations = match iterations {
        None => DJANGO_PBKDF2_ITERATIONS,
        Some(n) => u32::try_from(n)
            .map_err(|_| invalid("pbkdf2_iterations", format!("{n} is too large")))?,
    };
    let Some(list) = list else {
        let hashers = match schema {
            DatabaseSchema::Django(_) => Hashers::django_default(DJANGO_PBKDF2_ITERATIONS),
            DatabaseSchema::Jwtd => Hashers::jwtd_default(),
        };
        return Hashers::new(hashers.algorithms().to_vec(), iterations)
            .map_err(|e| invalid("pbkdf2_iterations", e.to_string()));
    };
    let algorithms = list
        .iter()
        // Django's class paths are accepted too: `django.contrib.auth.hashers.
        // PBKDF2PasswordHasher` names pbkdf2_sha256.
        .map(|name| Algorithm::from_django_class(name).map_or_else(|| name.parse(), Ok))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("password_hashers", e.to_string()))?;
    Hashers::new(algorithms, iterations).map_err(|e| match e {
        jwtd_password::HashersError::Pbkdf2Iterations(_) => {
            invalid("pbkdf2_iterations", e.to_string())
        }
        other => invalid("password_hashers", other.to_string()),
    })
}
