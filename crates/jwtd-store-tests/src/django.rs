//! A Django project's database for the store tests, and "Django" writing to it.
//!
//! The tables are made from Django's own DDL (`testdata/django/`, real `manage.py migrate`
//! output), never from an approximation. [`Django`] then writes rows as Django would: users in
//! the user table with Django's encodings (on SQLite booleans `0`/`1` and datetimes as UTC text
//! `YYYY-MM-DD HH:MM:SS[.ffffff]`, on PostgreSQL `boolean` and `timestamptz`), a deleted user's
//! outstanding tokens set to NULL first (simplejwt's `on_delete=SET_NULL`, done by Django's ORM,
//! not by the database), and simplejwt's blacklist rows.

use std::path::{Path, PathBuf};

use jwtd_store::{NewUser, StoreError, UserId};
use rusqlite::OptionalExtension;
use rusqlite::types::Value;

/// `sqlite3 db.sqlite3 .schema` after `manage.py migrate` (default `auth_user`).
pub const SQLITE_SCHEMA: &str = include_str!("../../../testdata/django/schema-sqlite.sql");
/// The same with a custom user model `accounts.User` (`USERNAME_FIELD = "email"`).
pub const SQLITE_EMAIL_USER_SCHEMA: &str =
    include_str!("../../../testdata/django/schema-email-user-sqlite.sql");
/// `pg_dump --schema-only --no-owner` after `manage.py migrate` (default `auth_user`).
pub const POSTGRES_SCHEMA: &str = include_str!("../../../testdata/django/schema-postgres.sql");

/// The statement of `.schema` that SQLite refuses (it makes that table itself, for the first
/// `AUTOINCREMENT` table).
const SQLITE_SEQUENCE: &str = "CREATE TABLE sqlite_sequence(name,seq);";

/// Creates a Django database file at `path` from `ddl` (one of the SQLite schemas above).
pub fn create_sqlite_database(path: &Path, ddl: &str) {
    let conn = rusqlite::Connection::open(path).expect("creating the Django database");
    let statements: String = ddl
        .lines()
        .filter(|line| line.trim() != SQLITE_SEQUENCE)
        .map(|line| format!("{line}\n"))
        .collect();
    conn.execute_batch(&statements)
        .expect("loading Django's SQLite DDL");
}

/// Loads Django's PostgreSQL DDL into the (fresh) database at `url`. The dump sets the
/// session's `search_path` to empty, so it runs on a connection of its own, closed after.
pub async fn create_postgres_database(url: &str) {
    let client = connect(url).await;
    client
        .batch_execute(POSTGRES_SCHEMA)
        .await
        .expect("loading Django's PostgreSQL DDL");
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connecting to the Django database");
    tokio::spawn(connection);
    client
}

/// Unix seconds and microseconds in Django's SQLite encoding of a `DateTimeField`: UTC text
/// `YYYY-MM-DD HH:MM:SS`, with `.ffffff` only when the microseconds are not zero.
pub fn django_time(seconds: i64, micros: u32) -> String {
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut text = format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    );
    if micros != 0 {
        text.push_str(&format!(".{micros:06}"));
    }
    text
}

/// An outstanding-token row as stored, timestamps rendered in Django's SQLite form (on
/// PostgreSQL converted to UTC text the same way), with the storage type of `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutstandingRow {
    /// The row's id (`bigint`).
    pub id: i64,
    /// The token's text.
    pub token: String,
    /// `created_at`.
    pub created_at: Option<String>,
    /// `expires_at`.
    pub expires_at: String,
    /// The owner.
    pub user_id: Option<i64>,
    /// The `jti`.
    pub jti: String,
    /// `typeof(expires_at)` on SQLite, `pg_typeof(expires_at)` on PostgreSQL.
    pub time_type: String,
}

/// A blacklisted-token row as stored, with its outstanding token's `jti`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlacklistedRow {
    /// The row's id.
    pub id: i64,
    /// `blacklisted_at`, in Django's SQLite form.
    pub blacklisted_at: String,
    /// The outstanding token's id.
    pub token_id: i64,
    /// That token's `jti`.
    pub jti: String,
    /// `typeof(blacklisted_at)` / `pg_typeof(blacklisted_at)`.
    pub time_type: String,
}

/// Where "Django" writes: the Django database of a store under test.
pub enum Backend {
    /// A `db.sqlite3` file; each write opens a connection as Django's would (busy timeout,
    /// foreign keys on).
    Sqlite(PathBuf),
    /// A PostgreSQL database, through a plain connection.
    Postgres(tokio_postgres::Client),
}

/// Django, writing its tables beside jwtd.
pub struct Django {
    /// The database.
    pub backend: Backend,
    /// The user table (`auth_user`, or a custom model's).
    pub user_table: String,
    /// The user model's `USERNAME_FIELD`.
    pub login: String,
}

impl Django {
    /// Django on the SQLite file at `path`, default user model.
    pub fn sqlite(path: &Path) -> Django {
        Django::sqlite_model(path, "auth_user", "username")
    }

    /// Django on the SQLite file at `path`, with the user model's table and `USERNAME_FIELD`.
    pub fn sqlite_model(path: &Path, user_table: &str, login: &str) -> Django {
        Django {
            backend: Backend::Sqlite(path.to_path_buf()),
            user_table: user_table.to_owned(),
            login: login.to_owned(),
        }
    }

    /// Django on the PostgreSQL database at `url`, default table, login by `login`.
    pub async fn postgres(url: &str, login: &str) -> Django {
        Django {
            backend: Backend::Postgres(connect(url).await),
            user_table: "auth_user".to_owned(),
            login: login.to_owned(),
        }
    }

    /// Whether this is SQLite.
    pub fn is_sqlite(&self) -> bool {
        matches!(self.backend, Backend::Sqlite(_))
    }

    /// A connection to the SQLite file, set up as Django's (panics on PostgreSQL).
    pub fn sqlite_connection(&self) -> rusqlite::Connection {
        let Backend::Sqlite(path) = &self.backend else {
            panic!("not a SQLite Django database");
        };
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        conn
    }

    /// A timestamp literal in the backend's Django encoding, for SQL text.
    pub fn time(&self, seconds: i64, micros: u32) -> String {
        match self.backend {
            Backend::Sqlite(_) => format!("'{}'", django_time(seconds, micros)),
            Backend::Postgres(_) => {
                format!("CAST('{}+00' AS timestamptz)", django_time(seconds, micros))
            }
        }
    }

    /// Runs literal SQL (one or several statements); the number of rows the last one changed
    /// on SQLite, of all of them on PostgreSQL.
    pub async fn exec(&self, sql: &str) -> u64 {
        match &self.backend {
            Backend::Sqlite(_) => {
                let conn = self.sqlite_connection();
                conn.execute_batch(sql)
                    .unwrap_or_else(|e| panic!("Django's {sql}: {e}"));
                conn.changes()
            }
            Backend::Postgres(client) => {
                let mut changed = 0;
                for message in client
                    .simple_query(sql)
                    .await
                    .unwrap_or_else(|e| panic!("Django's {sql}: {e}"))
                {
                    if let tokio_postgres::SimpleQueryMessage::CommandComplete(n) = message {
                        changed += n;
                    }
                }
                changed
            }
        }
    }

    /// Every row of a literal query, each column as text (NULL as `None`).
    pub async fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match &self.backend {
            Backend::Sqlite(_) => {
                let conn = self.sqlite_connection();
                let mut stmt = conn.prepare(sql).unwrap();
                let width = stmt.column_count();
                stmt.query_map([], |row| {
                    (0..width)
                        .map(|i| {
                            Ok(match row.get::<_, Value>(i)? {
                                Value::Null => None,
                                Value::Integer(n) => Some(n.to_string()),
                                Value::Real(x) => Some(x.to_string()),
                                Value::Text(text) => Some(text),
                                Value::Blob(bytes) => Some(format!("blob:{bytes:?}")),
                            })
                        })
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .unwrap()
                .collect::<rusqlite::Result<Vec<_>>>()
                .unwrap_or_else(|e| panic!("Django's {sql}: {e}"))
            }
            Backend::Postgres(client) => client
                .simple_query(sql)
                .await
                .unwrap_or_else(|e| panic!("Django's {sql}: {e}"))
                .into_iter()
                .filter_map(|message| match message {
                    tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                        (0..row.len())
                            .map(|i| row.get(i).map(str::to_owned))
                            .collect(),
                    ),
                    _ => None,
                })
                .collect(),
        }
    }

    /// The first column of the first row of a literal query, as an integer.
    pub async fn number(&self, sql: &str) -> Option<i64> {
        self.rows(sql)
            .await
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next().flatten())
            .map(|text| text.parse().unwrap_or_else(|_| panic!("{sql}: {text}")))
    }

    /// Creates a user as `manage.py createsuperuser` or a signup view would (`date_joined`
    /// with the given microseconds); returns its id.
    pub async fn create_user_at(&self, user: &NewUser, micros: u32) -> UserId {
        let (table, login) = (&self.user_table, &self.login);
        let active = if user.is_active { "TRUE" } else { "FALSE" };
        let joined = self.time(user.date_joined, micros);
        let name = quote(&user.username);
        let hash = quote(&user.password_hash);
        let sql = if table == "auth_user" {
            // A default user: `username`, names and `email` are NOT NULL (empty when unset).
            let (username, email) = if login == "email" {
                (name.clone(), name.clone())
            } else {
                (name.clone(), "''".to_owned())
            };
            format!(
                "INSERT INTO auth_user (password, last_login, is_superuser, username, first_name, \
                 last_name, email, is_staff, is_active, date_joined) \
                 VALUES ({hash}, NULL, FALSE, {username}, '', '', {email}, FALSE, {active}, {joined}) \
                 RETURNING id"
            )
        } else {
            format!(
                "INSERT INTO \"{table}\" (password, last_login, is_superuser, \"{login}\", is_active, \
                 is_staff, date_joined) \
                 VALUES ({hash}, NULL, FALSE, {name}, {active}, FALSE, {joined}) RETURNING id"
            )
        };
        self.number(&sql).await.expect("the new user's id")
    }

    /// Creates a user with whole-second `date_joined`.
    pub async fn create_user(&self, user: &NewUser) -> UserId {
        self.create_user_at(user, 0).await
    }

    /// The id of the user named `login`, if any.
    pub async fn user_id(&self, login: &str) -> Option<UserId> {
        self.number(&format!(
            "SELECT id FROM \"{}\" WHERE \"{}\" = {}",
            self.user_table,
            self.login,
            quote(login)
        ))
        .await
    }

    async fn update(&self, login: &str, set: &str) -> Result<(), StoreError> {
        let changed = self
            .exec(&format!(
                "UPDATE \"{}\" SET {set} WHERE \"{}\" = {}",
                self.user_table,
                self.login,
                quote(login)
            ))
            .await;
        // Django's `User.objects.get(...)` raises DoesNotExist first.
        if changed == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// The admin's "change password" (or `manage.py changepassword`).
    pub async fn set_password(&self, login: &str, hash: &str) -> Result<(), StoreError> {
        self.update(login, &format!("password = {}", quote(hash)))
            .await
    }

    /// The admin's "active" checkbox.
    pub async fn set_active(&self, login: &str, is_active: bool) -> Result<(), StoreError> {
        self.update(
            login,
            if is_active {
                "is_active = TRUE"
            } else {
                "is_active = FALSE"
            },
        )
        .await
    }

    /// The admin's "delete": the ORM sets the user's outstanding tokens' owner to NULL
    /// (`on_delete=SET_NULL`) and removes the user's group and permission rows, then the user,
    /// in one transaction.
    pub async fn delete_user(&self, login: &str) -> Result<(), StoreError> {
        let Some(id) = self.user_id(login).await else {
            return Err(StoreError::NotFound);
        };
        let table = &self.user_table;
        self.exec(&format!(
            "BEGIN;
             UPDATE token_blacklist_outstandingtoken SET user_id = NULL WHERE user_id = {id};
             DELETE FROM \"{table}_groups\" WHERE user_id = {id};
             DELETE FROM \"{table}_user_permissions\" WHERE user_id = {id};
             DELETE FROM \"{table}\" WHERE id = {id};
             COMMIT;"
        ))
        .await;
        Ok(())
    }

    /// `Group.objects.create(name=...)`; its id.
    pub async fn create_group(&self, name: &str) -> i64 {
        self.number(&format!(
            "INSERT INTO auth_group (name) VALUES ({}) RETURNING id",
            quote(name)
        ))
        .await
        .unwrap()
    }

    /// `user.groups.add(group)`.
    pub async fn add_to_group(&self, user: UserId, group: i64) {
        self.exec(&format!(
            "INSERT INTO \"{}_groups\" (user_id, group_id) VALUES ({user}, {group})",
            self.user_table
        ))
        .await;
    }

    /// simplejwt's `OutstandingToken.objects.create(...)` for a token Django issued; its id.
    pub async fn insert_outstanding(
        &self,
        jti: &str,
        user: Option<UserId>,
        created: (i64, u32),
        expires: (i64, u32),
        token: &str,
    ) -> i64 {
        let user = user.map_or("NULL".to_owned(), |id| id.to_string());
        self.number(&format!(
            "INSERT INTO token_blacklist_outstandingtoken (token, created_at, expires_at, user_id, jti) \
             VALUES ({}, {}, {}, {user}, {}) RETURNING id",
            quote(token),
            self.time(created.0, created.1),
            self.time(expires.0, expires.1),
            quote(jti)
        ))
        .await
        .unwrap()
    }

    /// simplejwt's `BlacklistedToken.objects.create(token=...)` for an outstanding `jti`.
    pub async fn insert_blacklisted(&self, jti: &str, at: (i64, u32)) {
        let inserted = self
            .exec(&format!(
                "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id) \
                 SELECT {}, id FROM token_blacklist_outstandingtoken WHERE jti = {}",
                self.time(at.0, at.1),
                quote(jti)
            ))
            .await;
        assert_eq!(inserted, 1, "Django blacklists {jti}");
    }

    /// Whether simplejwt sees `jti` as blacklisted
    /// (`BlacklistedToken.objects.filter(token__jti=jti).exists()`).
    pub async fn is_blacklisted(&self, jti: &str) -> bool {
        self.number(&format!(
            "SELECT count(*) FROM token_blacklist_blacklistedtoken b \
             JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id WHERE o.jti = {}",
            quote(jti)
        ))
        .await
            == Some(1)
    }

    /// `manage.py flushexpiredtokens` at `now` (seconds, microseconds): simplejwt's
    /// `OutstandingToken.objects.filter(expires_at__lte=now).delete()`, the blacklist rows first
    /// (the ORM's cascade). The number of outstanding rows removed.
    pub async fn flush_expired_tokens(&self, now: (i64, u32)) -> u64 {
        let now = self.time(now.0, now.1);
        let expired = self
            .rows(&format!(
                "SELECT id FROM token_blacklist_outstandingtoken WHERE expires_at <= {now}"
            ))
            .await;
        if expired.is_empty() {
            return 0;
        }
        let ids: Vec<String> = expired
            .into_iter()
            .map(|row| row[0].clone().unwrap())
            .collect();
        let ids = ids.join(", ");
        self.exec(&format!(
            "BEGIN;
             DELETE FROM token_blacklist_blacklistedtoken WHERE token_id IN ({ids});
             DELETE FROM token_blacklist_outstandingtoken WHERE id IN ({ids});
             COMMIT;"
        ))
        .await;
        ids.split(", ").count() as u64
    }

    /// `column`, a timestamp, as text in Django's SQLite form (on PostgreSQL: UTC, six digits).
    pub fn time_text(&self, column: &str) -> String {
        match self.backend {
            Backend::Sqlite(_) => column.to_owned(),
            Backend::Postgres(_) => {
                format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')")
            }
        }
    }

    fn time_type(&self, column: &str) -> String {
        match self.backend {
            Backend::Sqlite(_) => format!("typeof({column})"),
            Backend::Postgres(_) => format!("CAST(pg_typeof({column}) AS text)"),
        }
    }

    /// Every outstanding row, by id.
    pub async fn outstanding(&self) -> Vec<OutstandingRow> {
        self.rows(&format!(
            "SELECT id, token, {}, {}, user_id, jti, {} FROM token_blacklist_outstandingtoken \
             ORDER BY id",
            self.time_text("created_at"),
            self.time_text("expires_at"),
            self.time_type("expires_at"),
        ))
        .await
        .into_iter()
        .map(|row| OutstandingRow {
            id: row[0].as_deref().unwrap().parse().unwrap(),
            token: row[1].clone().unwrap(),
            created_at: row[2].as_deref().map(django_form),
            expires_at: django_form(row[3].as_deref().unwrap()),
            user_id: row[4].as_deref().map(|id| id.parse().unwrap()),
            jti: row[5].clone().unwrap(),
            time_type: row[6].clone().unwrap(),
        })
        .collect()
    }

    /// The outstanding row of `jti`.
    pub async fn outstanding_row(&self, jti: &str) -> Option<OutstandingRow> {
        self.outstanding()
            .await
            .into_iter()
            .find(|row| row.jti == jti)
    }

    /// Every blacklisted row, by id.
    pub async fn blacklisted(&self) -> Vec<BlacklistedRow> {
        self.rows(&format!(
            "SELECT b.id, {}, b.token_id, o.jti, {} FROM token_blacklist_blacklistedtoken b \
             JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id ORDER BY b.id",
            self.time_text("b.blacklisted_at"),
            self.time_type("b.blacklisted_at"),
        ))
        .await
        .into_iter()
        .map(|row| BlacklistedRow {
            id: row[0].as_deref().unwrap().parse().unwrap(),
            blacklisted_at: django_form(row[1].as_deref().unwrap()),
            token_id: row[2].as_deref().unwrap().parse().unwrap(),
            jti: row[3].clone().unwrap(),
            time_type: row[4].clone().unwrap(),
        })
        .collect()
    }

    /// The names of the database's tables, sorted.
    pub async fn tables(&self) -> Vec<String> {
        let sql = match self.backend {
            Backend::Sqlite(_) => {
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            }
            Backend::Postgres(_) => {
                "SELECT CAST(table_name AS text) FROM information_schema.tables \
                 WHERE table_schema = 'public' ORDER BY 1"
            }
        };
        self.rows(sql)
            .await
            .into_iter()
            .map(|row| row[0].clone().unwrap())
            .collect()
    }

    /// The stored password column of `login`.
    pub async fn password(&self, login: &str) -> Option<String> {
        self.rows(&format!(
            "SELECT password FROM \"{}\" WHERE \"{}\" = {}",
            self.user_table,
            self.login,
            quote(login)
        ))
        .await
        .into_iter()
        .next()
        .and_then(|row| row.into_iter().next().flatten())
    }
}

/// PostgreSQL's `to_char(..., 'US')` always has six digits; Django's SQLite text omits a zero
/// fraction. SQLite text is returned unchanged.
fn django_form(text: &str) -> String {
    text.strip_suffix(".000000").unwrap_or(text).to_owned()
}

/// A SQL string literal.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The `seq` SQLite's `AUTOINCREMENT` keeps for `table`.
pub fn sqlite_sequence(conn: &rusqlite::Connection, table: &str) -> Option<i64> {
    conn.query_row(
        "SELECT seq FROM sqlite_sequence WHERE name = ?1",
        [table],
        |row| row.get(0),
    )
    .optional()
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::django_time;

    #[test]
    fn django_time_is_djangos_sqlite_text() {
        assert_eq!(django_time(0, 0), "1970-01-01 00:00:00");
        assert_eq!(django_time(1_700_000_000, 0), "2023-11-14 22:13:20");
        assert_eq!(django_time(1_700_000_000, 5), "2023-11-14 22:13:20.000005");
        assert_eq!(django_time(951_782_400, 0), "2000-02-29 00:00:00");
        assert_eq!(django_time(-1, 0), "1969-12-31 23:59:59");
    }
}
