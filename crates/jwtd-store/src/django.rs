//! `database_schema = "django"`: the statements that read a Django project's users and write
//! simplejwt's blacklist tables, built once from the configured table and column names and
//! the columns the database really has, for both SQL dialects.
//!
//! jwtd never creates, alters or migrates a Django table. What a store does at start-up is read
//! the catalog (the columns of the tables below and their declared types) and hand it to
//! [`DjangoSql::plan`], which checks that everything jwtd needs is there with a compatible type,
//! answers a one-line fix when not, and builds the statements. The SQL text lives here, once;
//! each store only runs it with its driver (SQLite's `?N`, PostgreSQL's `$N`).
//!
//! Rows are written exactly as simplejwt writes them: an outstanding row per issued refresh or
//! sliding token (`token` holds its text, `created_at`, `expires_at`, `user_id`, `jti`), a
//! blacklisted row per blacklisted token. Timestamps are in each backend's Django encoding:
//! SQLite's `datetime` columns hold UTC text `YYYY-MM-DD HH:MM:SS` (Django and its
//! `flushexpiredtokens` compare them as text), PostgreSQL's are `timestamptz`.

use std::collections::HashMap;

use crate::StoreError;

/// simplejwt's outstanding-token table.
pub const OUTSTANDING_TABLE: &str = "token_blacklist_outstandingtoken";
/// simplejwt's blacklisted-token table.
pub const BLACKLISTED_TABLE: &str = "token_blacklist_blacklistedtoken";
/// Django's group table (for `token_claims = groups`).
pub const GROUP_TABLE: &str = "auth_group";

const INSTALL_BLACKLIST: &str =
    "add \"rest_framework_simplejwt.token_blacklist\" to INSTALLED_APPS and run manage.py migrate";

/// 9999-12-31 23:59:59 UTC, the last second Python's `datetime` (and so Django) can hold.
const MAX_DJANGO_SECONDS: i64 = 253_402_300_799;
/// 0001-01-01 00:00:00 UTC, the first.
const MIN_DJANGO_SECONDS: i64 = -62_135_596_800;

/// Which SQL dialect the statements are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite, with Django's `datetime` text.
    Sqlite,
    /// PostgreSQL, with `timestamptz`.
    Postgres,
}

impl Dialect {
    /// The `n`th bind parameter.
    fn param(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// A timestamp column's value as whole Unix seconds (`bigint`); NULL for a value that is
    /// none (PostgreSQL's `infinity`, which no integer holds, or text SQLite cannot read).
    fn epoch(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => format!("CAST(strftime('%s', {column}) AS INTEGER)"),
            Dialect::Postgres => format!(
                "CASE WHEN isfinite({column}) THEN CAST(floor(extract(epoch FROM {column})) AS bigint) END"
            ),
        }
    }

    /// Unix seconds (a bound `bigint`) as the backend's Django timestamp: on SQLite UTC text
    /// without a fraction (`datetime(…, 'unixepoch')` gives exactly Django's form for whole
    /// seconds), on PostgreSQL a `timestamptz`. Clamped to years 1 to 9999, Python's `datetime`
    /// range and so Django's: beyond it SQLite gives NULL (which compares with nothing) and
    /// PostgreSQL an error, where a far-future `now` or `exp` must still mean "far future".
    fn timestamp(self, param: &str) -> String {
        match self {
            Dialect::Sqlite => format!(
                "datetime(max(min(CAST({param} AS INTEGER), {MAX_DJANGO_SECONDS}), {MIN_DJANGO_SECONDS}), 'unixepoch')"
            ),
            Dialect::Postgres => format!(
                "to_timestamp(GREATEST(LEAST(CAST({param} AS bigint), {MAX_DJANGO_SECONDS}), {MIN_DJANGO_SECONDS}))"
            ),
        }
    }

    fn true_literal(self) -> &'static str {
        match self {
            Dialect::Sqlite => "1",
            Dialect::Postgres => "TRUE",
        }
    }

    /// What a declared column type (SQLite's declaration, PostgreSQL's `data_type`) holds.
    pub fn classify(self, declared: &str) -> ColumnKind {
        let declared = declared.trim().to_ascii_lowercase();
        match self {
            Dialect::Sqlite => {
                if declared == "bool" || declared == "boolean" {
                    ColumnKind::Bool
                } else if declared == "datetime" {
                    ColumnKind::Timestamp
                } else if declared == "char(32)" {
                    // Django's UUIDField on SQLite: 32 hex digits, no hyphens.
                    ColumnKind::Uuid
                } else if declared.contains("int") {
                    ColumnKind::Integer
                } else if declared.contains("char") || declared.contains("text") {
                    ColumnKind::Text
                } else if declared == "real" || declared.starts_with("decimal") {
                    ColumnKind::Float
                } else {
                    ColumnKind::Other(declared)
                }
            }
            Dialect::Postgres => match declared.as_str() {
                "boolean" => ColumnKind::Bool,
                "timestamp with time zone" => ColumnKind::Timestamp,
                "uuid" => ColumnKind::Uuid,
                "integer" | "bigint" | "smallint" => ColumnKind::Integer,
                "character varying" | "text" | "character" | "citext" => ColumnKind::Text,
                "double precision" | "real" | "numeric" => ColumnKind::Float,
                _ => ColumnKind::Other(declared),
            },
        }
    }
}

/// What a column holds, as far as jwtd cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// An integer of any width.
    Integer,
    /// Text (`varchar`, `text`).
    Text,
    /// A boolean (SQLite's `bool` 0/1).
    Bool,
    /// A Django `DateTimeField`.
    Timestamp,
    /// A Django `UUIDField`.
    Uuid,
    /// A floating-point or decimal number.
    Float,
    /// Anything else, by its declared name.
    Other(String),
}

impl ColumnKind {
    fn describe(&self) -> &str {
        match self {
            ColumnKind::Integer => "an integer",
            ColumnKind::Text => "text",
            ColumnKind::Bool => "a boolean",
            ColumnKind::Timestamp => "a timestamp",
            ColumnKind::Uuid => "a uuid",
            ColumnKind::Float => "a number",
            ColumnKind::Other(name) => name,
        }
    }
}

/// The names of a Django project's user model, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DjangoNames {
    /// The user table (`django_user_table`, `auth_user` by default).
    pub user_table: String,
    /// Django's `USERNAME_FIELD` (`username_field`): the column looked up at login.
    pub username_field: String,
    /// simplejwt's `USER_ID_FIELD` (`user_id_field`): the column the user id claim holds.
    pub user_id_field: String,
    /// The user-group join table (`django_user_groups_table`; `<user table>_groups` by
    /// default).
    pub groups_table: String,
    /// The join table's user column (`django_user_groups_column`, `user_id` by default).
    pub groups_column: String,
}

impl DjangoNames {
    /// The names, each checked to be a plain SQL identifier: they go into statements, so
    /// nothing but letters, digits and `_` is accepted (no quoting games).
    pub fn new(
        user_table: &str,
        username_field: &str,
        user_id_field: &str,
        groups_table: Option<&str>,
        groups_column: &str,
    ) -> Result<DjangoNames, String> {
        let groups_table = groups_table
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{user_table}_groups"));
        for (setting, name) in [
            ("django_user_table", user_table),
            ("username_field", username_field),
            ("user_id_field", user_id_field),
            ("django_user_groups_table", groups_table.as_str()),
            ("django_user_groups_column", groups_column),
        ] {
            if !is_identifier(name) {
                return Err(format!(
                    "{setting} = {name:?} is not a table or column name (letters, digits and _ only)"
                ));
            }
        }
        Ok(DjangoNames {
            user_table: user_table.to_owned(),
            username_field: username_field.to_owned(),
            user_id_field: user_id_field.to_owned(),
            groups_table,
            groups_column: groups_column.to_owned(),
        })
    }

    /// Django's defaults: `auth_user`, login by `username`, `id` in the claim.
    pub fn django_default() -> DjangoNames {
        DjangoNames::new("auth_user", "username", "id", None, "user_id").expect("valid names")
    }

    /// The tables whose columns [`DjangoSql::plan`] needs from the catalog.
    pub fn tables(&self) -> [&str; 5] {
        [
            &self.user_table,
            OUTSTANDING_TABLE,
            BLACKLISTED_TABLE,
            GROUP_TABLE,
            &self.groups_table,
        ]
    }
}

/// A plain SQL identifier, safe to put in a statement between double quotes.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}

/// The database's columns: table name to (column name, declared type) in table order; a table
/// that does not exist is absent.
pub type Catalog = HashMap<String, Vec<(String, String)>>;

/// The columns that are unique on their own (a single-column primary key, unique constraint or
/// unique index without a predicate), by table.
pub type UniqueColumns = HashMap<String, Vec<String>>;

/// How a store reads one selected user field for `token_claims`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldRead {
    /// A boolean column.
    Bool,
    /// An integer column (selected as `bigint`), or a timestamp (selected as Unix seconds).
    Integer,
    /// A number.
    Float,
    /// Text (anything else is selected cast to text).
    Text,
    /// A uuid: on SQLite its 32 hex digits, shown hyphenated as Python's `str(uuid)`.
    Uuid,
}

/// The statements of Django mode, for one dialect and one database's columns.
#[derive(Clone, Debug)]
pub struct DjangoSql {
    /// The dialect they are written in.
    pub dialect: Dialect,
    /// The names they were built from.
    pub names: DjangoNames,
    /// What the user id claim holds.
    pub id_claim: crate::IdClaimKind,
    /// How the `id_claim` column of a user row is read (`None`: the id is the claim).
    pub id_claim_read: Option<FieldRead>,
    /// A user by login name (`?1`), in [`crate::UserColumns`] order plus the id claim and the
    /// (unique) email.
    pub user_by_login: String,
    /// A user by primary key (`?1`, `bigint`).
    pub user_by_id: String,
    /// A user by the id claim's column (`?1`: `bigint` for an integer column, else text;
    /// on SQLite a uuid is bound as its 32 hex digits).
    pub user_by_claim: String,
    /// Every user, by id.
    pub list_users: String,
    /// Stamps `last_login` (`?1` id, `?2` Unix seconds); `None` when the table has no such
    /// column.
    pub record_login: Option<String>,
    /// Replaces the password hash (`?1` id, `?2` old hash, `?3` new hash) only if unchanged.
    pub upgrade_password: String,
    /// Records an outstanding token unless its `jti` is known (`?1` token text, `?2` issued
    /// at, `?3` expires at, `?4` owner id or NULL, `?5` jti); the owner is kept only if the
    /// user exists.
    pub insert_outstanding: String,
    /// Blacklists an outstanding token (`?1` jti, `?2` Unix seconds) unless it is already.
    pub insert_blacklisted: String,
    /// Blacklists every unexpired outstanding token of user `?1` at `?2` (Unix seconds): how
    /// Django mode logs a user out everywhere, as it keeps no sessions.
    pub blacklist_user_tokens: String,
    /// Whether a `jti` (`?1`) is blacklisted.
    pub is_blacklisted: String,
    /// Removes the blacklist rows of tokens expired at `?1` (first: the rows reference them).
    pub flush_blacklisted: String,
    /// Removes outstanding tokens expired at `?1`.
    pub flush_outstanding: String,
    /// Every outstanding token as `jti, user_id, issued_at, expires_at, token`.
    pub export_outstanding: String,
    /// Every blacklisted token as `jti, blacklisted_at`.
    pub export_blacklisted: String,
    /// The number of users and outstanding tokens.
    pub counts: String,
    /// A cheap statement that fails when the user table cannot be read.
    pub ping: String,
    /// The names of a user's groups (`?1` id), when the group tables exist.
    pub groups: Option<String>,
    /// The user table's columns and what each holds, for `token_claims`.
    pub user_columns: Vec<(String, ColumnKind)>,
}

fn quote(name: &str) -> String {
    format!("\"{name}\"")
}

impl DjangoSql {
    /// Checks `catalog` against what jwtd needs and builds the statements; the error is the
    /// one line an operator needs to fix it.
    pub fn plan(
        names: &DjangoNames,
        dialect: Dialect,
        catalog: &Catalog,
        unique: &UniqueColumns,
    ) -> Result<DjangoSql, StoreError> {
        let refuse =
            |what: String| StoreError::Refused(format!("database_schema = \"django\": {what}"));
        let table = |name: &str, fix: &str| {
            catalog
                .get(name)
                .map(|columns| {
                    columns
                        .iter()
                        .map(|(column, declared)| (column.clone(), dialect.classify(declared)))
                        .collect::<Vec<_>>()
                })
                .ok_or_else(|| refuse(format!("table {name} not found; {fix}")))
        };
        let users = table(
            &names.user_table,
            "run manage.py migrate, or set django_user_table to the table of your AUTH_USER_MODEL",
        )?;
        let outstanding = table(OUTSTANDING_TABLE, INSTALL_BLACKLIST)?;
        let blacklisted = table(BLACKLISTED_TABLE, INSTALL_BLACKLIST)?;
        let kind_of = |columns: &[(String, ColumnKind)], column: &str| {
            columns
                .iter()
                .find(|(name, _)| name == column)
                .map(|(_, kind)| kind.clone())
        };
        // A column jwtd needs, of one of the kinds it can use.
        let need = |columns: &[(String, ColumnKind)],
                    table: &str,
                    column: &str,
                    kinds: &[ColumnKind],
                    fix: &str|
         -> Result<ColumnKind, StoreError> {
            let Some(kind) = kind_of(columns, column) else {
                return Err(refuse(format!("column {table}.{column} not found; {fix}")));
            };
            if kinds.contains(&kind) {
                Ok(kind)
            } else {
                Err(refuse(format!(
                    "column {table}.{column} is {}, expected {}",
                    kind.describe(),
                    kinds[0].describe()
                )))
            }
        };
        let user_table = names.user_table.as_str();
        let migrate = "is this the database of a migrated Django project?";
        if let Some(kind) = kind_of(&users, "id").filter(|kind| *kind != ColumnKind::Integer) {
            return Err(refuse(format!(
                "column {user_table}.id is {}: jwtd needs the user model's primary key to be an \
                 integer id (AutoField or BigAutoField); other primary keys are not supported yet",
                kind.describe()
            )));
        }
        need(
            &users,
            user_table,
            "id",
            &[ColumnKind::Integer],
            "jwtd needs an integer primary key named id (AutoField or BigAutoField)",
        )?;
        need(&users, user_table, "password", &[ColumnKind::Text], migrate)?;
        need(
            &users,
            user_table,
            &names.username_field,
            &[ColumnKind::Text],
            "set username_field to your user model's USERNAME_FIELD",
        )?;
        let id_kind = need(
            &users,
            user_table,
            &names.user_id_field,
            &[ColumnKind::Integer, ColumnKind::Uuid, ColumnKind::Text],
            "set user_id_field to simplejwt's USER_ID_FIELD",
        )?;
        // A login or a user id claim must name one user: a column that two users can share
        // would let one log in as, or be served as, the other (`User.objects.get` would raise
        // MultipleObjectsReturned in Django; a first-row-wins lookup would pick one).
        let is_unique = |column: &str| {
            unique
                .get(user_table)
                .is_some_and(|columns| columns.iter().any(|c| c == column))
        };
        for (column, setting, what) in [
            (
                names.username_field.as_str(),
                "username_field",
                "Django's USERNAME_FIELD",
            ),
            (
                names.user_id_field.as_str(),
                "user_id_field",
                "simplejwt's USER_ID_FIELD",
            ),
        ] {
            if !is_unique(column) {
                return Err(refuse(format!(
                    "column {user_table}.{column} is not unique; {setting} must name a unique \
                     column, as {what} must be (unique=True)"
                )));
            }
        }
        // Optional, as on Django's AbstractBaseUser: without is_active every user is active.
        let optional = |column: &str, kind: ColumnKind| -> Result<bool, StoreError> {
            match kind_of(&users, column) {
                None => Ok(false),
                Some(found) if found == kind => Ok(true),
                Some(found) => Err(refuse(format!(
                    "column {user_table}.{column} is {}, expected {}",
                    found.describe(),
                    kind.describe()
                ))),
            }
        };
        let has_is_active = optional("is_active", ColumnKind::Bool)?;
        let has_date_joined = optional("date_joined", ColumnKind::Timestamp)?;
        let has_last_login = optional("last_login", ColumnKind::Timestamp)?;
        for (column, kinds) in [
            ("id", vec![ColumnKind::Integer]),
            ("token", vec![ColumnKind::Text]),
            ("created_at", vec![ColumnKind::Timestamp]),
            ("expires_at", vec![ColumnKind::Timestamp]),
            ("user_id", vec![ColumnKind::Integer]),
            ("jti", vec![ColumnKind::Text]),
        ] {
            need(
                &outstanding,
                OUTSTANDING_TABLE,
                column,
                &kinds,
                INSTALL_BLACKLIST,
            )?;
        }
        for (column, kind) in [
            ("id", ColumnKind::Integer),
            ("blacklisted_at", ColumnKind::Timestamp),
            ("token_id", ColumnKind::Integer),
        ] {
            need(
                &blacklisted,
                BLACKLISTED_TABLE,
                column,
                &[kind],
                INSTALL_BLACKLIST,
            )?;
        }

        let p = |n| dialect.param(n);
        let u = quote(user_table);
        let ot = quote(OUTSTANDING_TABLE);
        let bt = quote(BLACKLISTED_TABLE);
        let column = |name: &str| format!("u.{}", quote(name));
        let (id_claim, id_claim_read, id_claim_select) = if names.user_id_field == "id" {
            (crate::IdClaimKind::Integer, None, "NULL".to_owned())
        } else {
            let c = column(&names.user_id_field);
            match id_kind {
                ColumnKind::Integer => (
                    crate::IdClaimKind::Integer,
                    Some(FieldRead::Text),
                    format!("CAST({c} AS text)"),
                ),
                ColumnKind::Uuid => (
                    crate::IdClaimKind::Uuid,
                    Some(FieldRead::Uuid),
                    format!("CAST({c} AS text)"),
                ),
                _ => (crate::IdClaimKind::Text, Some(FieldRead::Text), c),
            }
        };
        let id_claim_select = match (dialect, id_claim_select.as_str()) {
            (Dialect::Postgres, "NULL") => "CAST(NULL AS text)".to_owned(),
            _ => id_claim_select,
        };
        // The email, for `jwtd import-django`, when the table has a unique one (Django's
        // auth_user.email is not unique, so it is not an identity there).
        let email_select = match kind_of(&users, "email") {
            Some(ColumnKind::Text) if is_unique("email") => {
                format!("CAST({} AS text)", column("email"))
            }
            _ => "CAST(NULL AS text)".to_owned(),
        };
        let select = format!(
            "SELECT CAST(u.\"id\" AS bigint), {}, u.\"password\", {}, {}, {}, {}, {email_select} FROM {u} u",
            column(&names.username_field),
            if has_is_active {
                column("is_active")
            } else {
                dialect.true_literal().to_owned()
            },
            if has_date_joined {
                dialect.epoch(&column("date_joined"))
            } else {
                "CAST(0 AS bigint)".to_owned()
            },
            if has_last_login {
                dialect.epoch(&column("last_login"))
            } else {
                "CAST(NULL AS bigint)".to_owned()
            },
            id_claim_select,
        );
        let claim_param = match id_claim {
            crate::IdClaimKind::Integer => format!("CAST({} AS bigint)", p(1)),
            // Bound as text: the driver sends a uuid column's parameter as text only this way.
            crate::IdClaimKind::Uuid if dialect == Dialect::Postgres => {
                format!("CAST(CAST({} AS text) AS uuid)", p(1))
            }
            _ => p(1),
        };
        let groups = match (
            catalog.contains_key(GROUP_TABLE),
            catalog.get(&names.groups_table),
        ) {
            (true, Some(join)) if join.iter().any(|(c, _)| *c == names.groups_column) => {
                Some(format!(
                    "SELECT g.\"name\" FROM {} g JOIN {} ug ON ug.\"group_id\" = g.\"id\" \
                     WHERE ug.{} = CAST({} AS bigint) ORDER BY g.\"name\"",
                    quote(GROUP_TABLE),
                    quote(&names.groups_table),
                    quote(&names.groups_column),
                    p(1)
                ))
            }
            _ => None,
        };
        let expired = format!("\"expires_at\" <= {}", dialect.timestamp(&p(1)));
        Ok(DjangoSql {
            dialect,
            names: names.clone(),
            id_claim,
            id_claim_read,
            user_by_login: format!(
                "{select} WHERE {} = {}",
                column(&names.username_field),
                p(1)
            ),
            user_by_id: format!("{select} WHERE u.\"id\" = CAST({} AS bigint)", p(1)),
            user_by_claim: format!(
                "{select} WHERE {} = {claim_param}",
                column(&names.user_id_field)
            ),
            list_users: format!("{select} ORDER BY u.\"id\""),
            record_login: has_last_login.then(|| {
                format!(
                    "UPDATE {u} SET \"last_login\" = {} WHERE \"id\" = CAST({} AS bigint)",
                    dialect.timestamp(&p(2)),
                    p(1)
                )
            }),
            upgrade_password: format!(
                "UPDATE {u} SET \"password\" = {} WHERE \"id\" = CAST({} AS bigint) AND \"password\" = {}",
                p(3),
                p(1),
                p(2)
            ),
            insert_outstanding: format!(
                "INSERT INTO {ot} (\"token\", \"created_at\", \"expires_at\", \"user_id\", \"jti\") \
                 VALUES ({}, {}, {}, (SELECT \"id\" FROM {u} WHERE \"id\" = CAST({} AS bigint)), {}) \
                 ON CONFLICT (\"jti\") DO NOTHING",
                p(1),
                dialect.timestamp(&p(2)),
                dialect.timestamp(&p(3)),
                p(4),
                p(5)
            ),
            insert_blacklisted: format!(
                "INSERT INTO {bt} (\"blacklisted_at\", \"token_id\") \
                 SELECT {}, o.\"id\" FROM {ot} o WHERE o.\"jti\" = {} \
                 ON CONFLICT (\"token_id\") DO NOTHING",
                dialect.timestamp(&p(2)),
                p(1)
            ),
            blacklist_user_tokens: format!(
                "INSERT INTO {bt} (\"blacklisted_at\", \"token_id\") \
                 SELECT {}, o.\"id\" FROM {ot} o \
                 WHERE o.\"user_id\" = CAST({} AS bigint) AND o.\"expires_at\" > {} \
                 ON CONFLICT (\"token_id\") DO NOTHING",
                dialect.timestamp(&p(2)),
                p(1),
                dialect.timestamp(&p(2))
            ),
            is_blacklisted: format!(
                "SELECT 1 FROM {bt} b JOIN {ot} o ON o.\"id\" = b.\"token_id\" WHERE o.\"jti\" = {}",
                p(1)
            ),
            flush_blacklisted: format!(
                "DELETE FROM {bt} WHERE \"token_id\" IN (SELECT \"id\" FROM {ot} WHERE {expired})"
            ),
            flush_outstanding: format!("DELETE FROM {ot} WHERE {expired}"),
            export_outstanding: format!(
                "SELECT o.\"jti\", CAST(o.\"user_id\" AS bigint), \
                 COALESCE({}, {}), {}, o.\"token\" FROM {ot} o ORDER BY o.\"jti\"",
                dialect.epoch("o.\"created_at\""),
                dialect.epoch("o.\"expires_at\""),
                dialect.epoch("o.\"expires_at\"")
            ),
            export_blacklisted: format!(
                "SELECT o.\"jti\", {} FROM {bt} b JOIN {ot} o ON o.\"id\" = b.\"token_id\" ORDER BY o.\"jti\"",
                dialect.epoch("b.\"blacklisted_at\"")
            ),
            counts: format!("SELECT (SELECT count(*) FROM {u}), (SELECT count(*) FROM {ot})"),
            ping: format!("SELECT 1 FROM {u} LIMIT 1"),
            groups,
            user_columns: users,
        })
    }

    /// The statement reading `fields` of user `?1`, and how to read each; `groups` is not a
    /// column (read with [`DjangoSql::groups`]) and is left out of the statement. An unknown
    /// field is refused, naming it.
    pub fn user_fields(&self, fields: &[String]) -> Result<(String, Vec<FieldRead>), StoreError> {
        let mut selected = Vec::new();
        let mut reads = Vec::new();
        for field in fields {
            if field == "groups" {
                if self.groups.is_none() {
                    return Err(StoreError::Refused(format!(
                        "token_claims = groups: tables {GROUP_TABLE} and {} (column {}) not found; \
                         set django_user_groups_table and django_user_groups_column",
                        self.names.groups_table, self.names.groups_column
                    )));
                }
                continue;
            }
            if field == "password" {
                return Err(StoreError::Refused(
                    "token_claims cannot include password".to_owned(),
                ));
            }
            let Some((_, kind)) = self.user_columns.iter().find(|(name, _)| name == field) else {
                return Err(StoreError::Refused(format!(
                    "token_claims: column {}.{field} not found",
                    self.names.user_table
                )));
            };
            let c = format!("u.{}", quote(field));
            let (sql, read) = match kind {
                ColumnKind::Bool => (c, FieldRead::Bool),
                ColumnKind::Integer => (format!("CAST({c} AS bigint)"), FieldRead::Integer),
                ColumnKind::Timestamp => (self.dialect.epoch(&c), FieldRead::Integer),
                ColumnKind::Float => (format!("CAST({c} AS double precision)"), FieldRead::Float),
                ColumnKind::Uuid => (format!("CAST({c} AS text)"), FieldRead::Uuid),
                ColumnKind::Text | ColumnKind::Other(_) => {
                    (format!("CAST({c} AS text)"), FieldRead::Text)
                }
            };
            let sql = match (self.dialect, read.clone()) {
                // SQLite has no `double precision` affinity name issue, but keep it plain.
                (Dialect::Sqlite, FieldRead::Float) => format!("CAST(u.{} AS REAL)", quote(field)),
                _ => sql,
            };
            selected.push(sql);
            reads.push(read);
        }
        if selected.is_empty() {
            selected.push("1".to_owned());
        }
        let sql = format!(
            "SELECT {} FROM {} u WHERE u.\"id\" = CAST({} AS bigint)",
            selected.join(", "),
            quote(&self.names.user_table),
            self.dialect.param(1)
        );
        Ok((sql, reads))
    }
}

/// The refusal of a user write in Django mode.
pub fn users_are_djangos() -> StoreError {
    StoreError::Refused(
        "database_schema = \"django\": users are Django's to manage; use manage.py \
         (createsuperuser, changepassword, shell) or the Django admin"
            .to_owned(),
    )
}

/// The refusal of [`Store::import`](crate::Store::import) into a Django database.
pub fn import_refused() -> StoreError {
    StoreError::Refused(
        "database_schema = \"django\": jwtd imports only into its own schema \
         (jwtd import-django copies a Django database into it)"
            .to_owned(),
    )
}

/// The values of `fields` in order, from the columns [`DjangoSql::user_fields`] selected (in
/// order, without `groups`) and the user's group names (read only when `fields` has `groups`).
pub fn claim_values(
    fields: &[String],
    columns: Vec<crate::ClaimValue>,
    groups: Option<Vec<String>>,
) -> Vec<crate::ClaimValue> {
    let mut columns = columns.into_iter();
    fields
        .iter()
        .map(|field| {
            if field == "groups" {
                crate::ClaimValue::List(groups.clone().unwrap_or_default())
            } else {
                columns.next().unwrap_or(crate::ClaimValue::Null)
            }
        })
        .collect()
}

/// The refusal of jwtd's own schema on a database that holds Django's tables.
pub fn refuse_django_database(found: &str) -> StoreError {
    StoreError::Refused(format!(
        "this database holds Django's tables ({found}); set database_schema = \"django\" to use \
         them, or point database_url at a database of jwtd's own"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn django_catalog() -> Catalog {
        let mut catalog = Catalog::new();
        let cols = |list: &[(&str, &str)]| {
            list.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        catalog.insert(
            "auth_user".into(),
            cols(&[
                ("id", "integer"),
                ("password", "varchar(128)"),
                ("last_login", "datetime"),
                ("is_superuser", "bool"),
                ("username", "varchar(150)"),
                ("email", "varchar(254)"),
                ("is_active", "bool"),
                ("date_joined", "datetime"),
            ]),
        );
        catalog.insert(
            OUTSTANDING_TABLE.into(),
            cols(&[
                ("token", "text"),
                ("created_at", "datetime"),
                ("expires_at", "datetime"),
                ("user_id", "integer"),
                ("jti", "varchar(255)"),
                ("id", "integer"),
            ]),
        );
        catalog.insert(
            BLACKLISTED_TABLE.into(),
            cols(&[
                ("blacklisted_at", "datetime"),
                ("token_id", "bigint"),
                ("id", "integer"),
            ]),
        );
        catalog
    }

    fn unique() -> UniqueColumns {
        UniqueColumns::from([(
            "auth_user".to_owned(),
            vec!["id".to_owned(), "username".to_owned()],
        )])
    }

    fn refusal(result: Result<DjangoSql, StoreError>) -> String {
        match result {
            Err(StoreError::Refused(message)) => message,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn missing_blacklist_tables_name_the_app_to_install() {
        let mut catalog = django_catalog();
        catalog.remove(OUTSTANDING_TABLE);
        let message = refusal(DjangoSql::plan(
            &DjangoNames::django_default(),
            Dialect::Sqlite,
            &catalog,
            &unique(),
        ));
        assert_eq!(
            message,
            "database_schema = \"django\": table token_blacklist_outstandingtoken not found; \
             add \"rest_framework_simplejwt.token_blacklist\" to INSTALLED_APPS and run manage.py migrate"
        );
    }

    #[test]
    fn missing_or_mistyped_columns_are_named() {
        let names = DjangoNames::new("auth_user", "email_address", "id", None, "user_id").unwrap();
        let message = refusal(DjangoSql::plan(
            &names,
            Dialect::Sqlite,
            &django_catalog(),
            &unique(),
        ));
        assert!(
            message.contains("column auth_user.email_address not found"),
            "{message}"
        );

        let mut catalog = django_catalog();
        catalog.get_mut("auth_user").unwrap()[6].1 = "varchar(5)".into();
        let message = refusal(DjangoSql::plan(
            &DjangoNames::django_default(),
            Dialect::Sqlite,
            &catalog,
            &unique(),
        ));
        assert!(
            message.contains("auth_user.is_active is text, expected a boolean"),
            "{message}"
        );
    }

    #[test]
    fn a_primary_key_that_is_not_an_integer_is_refused_plainly() {
        let mut catalog = django_catalog();
        catalog.get_mut("auth_user").unwrap()[0].1 = "char(32)".into();
        let message = refusal(DjangoSql::plan(
            &DjangoNames::django_default(),
            Dialect::Sqlite,
            &catalog,
            &unique(),
        ));
        assert_eq!(
            message,
            "database_schema = \"django\": column auth_user.id is a uuid: jwtd needs the user \
             model's primary key to be an integer id (AutoField or BigAutoField); other primary \
             keys are not supported yet"
        );
    }

    #[test]
    fn a_user_table_without_is_active_makes_everyone_active() {
        let mut catalog = django_catalog();
        catalog
            .get_mut("auth_user")
            .unwrap()
            .retain(|(c, _)| c != "is_active");
        let sql = DjangoSql::plan(
            &DjangoNames::django_default(),
            Dialect::Sqlite,
            &catalog,
            &unique(),
        )
        .unwrap();
        assert!(sql.user_by_login.contains(", 1, "), "{}", sql.user_by_login);
    }

    #[test]
    fn names_that_are_not_identifiers_are_refused() {
        assert!(
            DjangoNames::new(
                "auth_user\"; DROP TABLE x; --",
                "username",
                "id",
                None,
                "user_id"
            )
            .is_err()
        );
        assert!(DjangoNames::new("auth_user", "user name", "id", None, "user_id").is_err());
        assert!(DjangoNames::new("auth_user", "username", "", None, "user_id").is_err());
        assert_eq!(
            DjangoNames::new("accounts_user", "email", "id", None, "user_id")
                .unwrap()
                .groups_table,
            "accounts_user_groups"
        );
    }

    #[test]
    fn token_claims_fields_are_checked() {
        let sql = DjangoSql::plan(
            &DjangoNames::django_default(),
            Dialect::Sqlite,
            &django_catalog(),
            &unique(),
        )
        .unwrap();
        assert!(
            sql.user_fields(&["email".into(), "is_active".into()])
                .is_ok()
        );
        assert!(sql.user_fields(&["nope".into()]).is_err());
        assert!(sql.user_fields(&["password".into()]).is_err());
        // No group tables in this catalog.
        assert!(sql.user_fields(&["groups".into()]).is_err());
    }

    #[test]
    fn login_and_claim_columns_must_be_unique() {
        let catalog = django_catalog();
        for (username_field, user_id_field) in [("email", "id"), ("username", "email")] {
            let names =
                DjangoNames::new("auth_user", username_field, user_id_field, None, "user_id")
                    .unwrap();
            let message = refusal(DjangoSql::plan(
                &names,
                Dialect::Sqlite,
                &catalog,
                &unique(),
            ));
            assert!(
                message.contains("column auth_user.email is not unique"),
                "{message}"
            );
        }
        let plan = DjangoSql::plan(
            &DjangoNames::django_default(),
            Dialect::Sqlite,
            &catalog,
            &unique(),
        )
        .unwrap();
        // A non-unique email is not an identity: not read.
        assert!(
            plan.user_by_login.contains("CAST(NULL AS text) FROM"),
            "{}",
            plan.user_by_login
        );
    }
}
