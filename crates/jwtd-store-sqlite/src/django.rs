//! `database_schema = "django"` on SQLite: a Django project's `db.sqlite3`, shared with a
//! running Django.
//!
//! The statements are [`DjangoSql`]'s, planned once at open from the file's own catalog; this
//! module only runs them. The file is attached as it is: never created, migrated or switched to
//! WAL. Writes go through the same group commit as jwtd's own schema (one short `IMMEDIATE`
//! transaction per batch, never held across requests), and every statement waits up to the busy
//! timeout for Django's writes before answering `Unavailable` (503), with nothing half-written.
//! Point reads run on the calling worker. In WAL mode a reader never waits; in Django's default
//! rollback journal a reader can meet a committing writer's lock, so the read is tried once on
//! the worker without waiting, and one that meets a lock goes to the blocking pool, where it
//! waits: an async worker never sleeps in SQLite's busy handler.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use jwtd_store::django::{
    Catalog, DjangoNames, DjangoSql, FieldRead, UniqueColumns, claim_values, import_refused,
    users_are_djangos,
};
use jwtd_store::{
    BlacklistEntry, Blacklisting, ClaimValue, Flushed, IdClaimKind, NewUser, Rotation,
    RotationRequest, Snapshot, Store, StoreError, TokenRecord, TokenStatements, User, UserId,
    parse_user_id, parse_uuid,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::SqliteStore;
use crate::connection::wait_for_lock;
use crate::errors::{db_error, is_busy};
use crate::tokens::finished;

/// A [`Store`] on a Django project's SQLite database.
#[derive(Clone)]
pub struct DjangoSqliteStore {
    db: SqliteStore,
    sql: Arc<DjangoSql>,
    /// Whether the file is in WAL mode (then point reads never wait for a writer).
    wal: bool,
}

impl std::fmt::Debug for DjangoSqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DjangoSqliteStore")
            .field("path", &self.db.path())
            .field("user_table", &self.sql.names.user_table)
            .finish()
    }
}

impl DjangoSqliteStore {
    /// Attaches to the Django database at `path` and checks that it holds what jwtd needs
    /// (the user table and simplejwt's blacklist tables, with compatible columns); the error
    /// says in one line what to fix.
    pub fn open(
        path: impl AsRef<Path>,
        names: &DjangoNames,
    ) -> Result<DjangoSqliteStore, StoreError> {
        let db = SqliteStore::attach(path.as_ref())?;
        let conn = db
            .pool
            .get()
            .map_err(|e| StoreError::Unavailable(format!("no database connection: {e}")))?;
        let catalog = catalog(&conn, names).map_err(db_error)?;
        let unique = unique_columns(&conn, &names.user_table).map_err(db_error)?;
        let journal: String = conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .map_err(db_error)?;
        drop(conn);
        let sql = DjangoSql::plan(
            names,
            jwtd_store::django::Dialect::Sqlite,
            &catalog,
            &unique,
        )?;
        Ok(DjangoSqliteStore {
            db,
            sql: Arc::new(sql),
            wal: journal.eq_ignore_ascii_case("wal"),
        })
    }

    /// The planned statements.
    pub fn statements(&self) -> &DjangoSql {
        &self.sql
    }

    async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&mut Connection, &DjangoSql) -> Result<T, StoreError> + Send + 'static,
    {
        let sql = Arc::clone(&self.sql);
        if self.wal {
            return self.db.read_now(move |conn| work(conn, &sql)).await;
        }
        if let Some(mut conn) = self.db.pool.try_get() {
            conn.busy_handler(None).map_err(db_error)?;
            let answer = work(&mut conn, &sql);
            conn.busy_handler(Some(wait_for_lock)).map_err(db_error)?;
            match answer {
                Err(e) if is_busy(&e) => {}
                answer => return answer,
            }
        }
        self.db.run(move |conn| work(conn, &sql)).await
    }

    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &DjangoSql) -> Result<(T, bool), StoreError> + Send + 'static,
    {
        let sql = Arc::clone(&self.sql);
        self.db.write_batched(move |conn| work(conn, &sql)).await
    }

    /// The one user a lookup finds. Two rows (a uniqueness the start-up check saw was dropped
    /// since) are an error, never the first one: that could be somebody else.
    async fn user_where(
        &self,
        statement: fn(&DjangoSql) -> &str,
        key: Value,
    ) -> Result<Option<User>, StoreError> {
        self.read(move |conn, sql| {
            let mut stmt = conn.prepare_cached(statement(sql)).map_err(db_error)?;
            let mut found = stmt
                .query_map([&key], |row| user(row, sql))
                .map_err(db_error)?
                .take(2)
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_error)?;
            if found.len() > 1 {
                return Err(StoreError::Internal(format!(
                    "two users of {} match one login or user id claim; its column must be unique",
                    sql.names.user_table
                )));
            }
            Ok(found.pop())
        })
        .await
    }
}

/// The columns of `names`' tables, as `PRAGMA table_info` declares them.
fn catalog(conn: &Connection, names: &DjangoNames) -> rusqlite::Result<Catalog> {
    let mut catalog = Catalog::new();
    let mut stmt = conn.prepare("SELECT name, type FROM pragma_table_info(?1) ORDER BY cid")?;
    for table in names.tables() {
        let columns = stmt
            .query_map([table], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if !columns.is_empty() {
            catalog.insert(table.to_owned(), columns);
        }
    }
    Ok(catalog)
}

/// The columns of `table` that are unique on their own: a single-column primary key, or a
/// unique index (or constraint) on that column alone and without a `WHERE`.
fn unique_columns(conn: &Connection, table: &str) -> rusqlite::Result<UniqueColumns> {
    let mut stmt = conn.prepare(
        "SELECT ii.name FROM pragma_index_list(?1) AS il, pragma_index_info(il.name) AS ii
         WHERE il.\"unique\" = 1 AND il.partial = 0
           AND (SELECT count(*) FROM pragma_index_info(il.name)) = 1
         UNION
         SELECT name FROM pragma_table_info(?1)
         WHERE pk = 1 AND (SELECT count(*) FROM pragma_table_info(?1) WHERE pk > 0) = 1",
    )?;
    let columns = stmt
        .query_map([table], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(UniqueColumns::from([(table.to_owned(), columns)]))
}

/// A column's value; text that is not UTF-8 (another program may have written any bytes) is
/// read with replacement characters rather than failing the whole read: such a login or hash
/// then matches nothing, and a claim shows what can be shown.
fn value(row: &Row<'_>, index: usize) -> rusqlite::Result<Value> {
    use rusqlite::types::ValueRef;
    Ok(match row.get_ref(index)? {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Integer(n),
        ValueRef::Real(x) => Value::Real(x),
        ValueRef::Text(bytes) => Value::Text(String::from_utf8_lossy(bytes).into_owned()),
        ValueRef::Blob(bytes) => Value::Blob(bytes.to_vec()),
    })
}

/// A column as text, whatever SQLite's dynamic typing put there (a Django `CharField` holds
/// text, but nothing stops another program from storing a number); NULL is empty, which no
/// password or login matches.
fn text(row: &Row<'_>, index: usize) -> rusqlite::Result<String> {
    Ok(match value(row, index)? {
        Value::Text(text) => text,
        Value::Integer(n) => n.to_string(),
        Value::Real(x) => x.to_string(),
        Value::Null | Value::Blob(_) => String::new(),
    })
}

/// A user row as [`DjangoSql`] selects it: `id, login, password, is_active, date_joined,
/// last_login, id_claim`. A value of an unexpected kind never becomes a login: a non-integer
/// `is_active` is inactive, a NULL password matches nothing.
fn user(row: &Row<'_>, sql: &DjangoSql) -> rusqlite::Result<User> {
    let is_active = matches!(value(row, 3)?, Value::Integer(n) if n != 0);
    let id_claim = match &sql.id_claim_read {
        None => None,
        Some(FieldRead::Uuid) => {
            let raw = text(row, 6)?;
            Some(parse_uuid(&raw).map_or(raw, |(hyphenated, _)| hyphenated))
        }
        Some(_) => Some(text(row, 6)?),
    };
    Ok(User {
        id: row.get(0)?,
        username: text(row, 1)?,
        password_hash: text(row, 2)?,
        is_active,
        date_joined: row.get::<_, Option<i64>>(4)?.unwrap_or(0),
        last_login: row.get(5)?,
        id_claim,
        email: Some(text(row, 7)?).filter(|email| !email.is_empty()),
        tokens_valid_after: 0,
        access_denied_until: 0,
    })
}

/// simplejwt's two token statements on Django's tables.
struct Statements<'c> {
    conn: &'c Connection,
    sql: &'c DjangoSql,
}

impl TokenStatements for Statements<'_> {
    type Error = rusqlite::Error;

    fn record_issued(&self, token: &TokenRecord) -> impl Future<Output = rusqlite::Result<()>> {
        std::future::ready(insert_outstanding(self.conn, self.sql, token))
    }

    fn insert_blacklisted(
        &self,
        jti: &str,
        at: i64,
    ) -> impl Future<Output = rusqlite::Result<Blacklisting>> {
        std::future::ready(
            self.conn
                .prepare_cached(&self.sql.insert_blacklisted)
                .and_then(|mut stmt| stmt.execute(params![jti, at]))
                .map(|rows| Blacklisting::from_rows_inserted(rows as u64)),
        )
    }
}

fn insert_outstanding(
    conn: &Connection,
    sql: &DjangoSql,
    token: &TokenRecord,
) -> rusqlite::Result<()> {
    conn.prepare_cached(&sql.insert_outstanding)?
        .execute(params![
            token.token,
            token.issued_at,
            token.expires_at,
            token.user_id,
            token.jti
        ])?;
    Ok(())
}

fn claim_value(row: &Row<'_>, index: usize, read: &FieldRead) -> rusqlite::Result<ClaimValue> {
    Ok(match (read, value(row, index)?) {
        (_, Value::Null) => ClaimValue::Null,
        (FieldRead::Bool, Value::Integer(n)) => ClaimValue::Bool(n != 0),
        (FieldRead::Integer, Value::Integer(n)) => ClaimValue::Integer(n),
        (FieldRead::Float, Value::Real(x)) => ClaimValue::Float(x),
        (FieldRead::Float, Value::Integer(n)) => ClaimValue::Float(n as f64),
        (FieldRead::Uuid, Value::Text(raw)) => {
            ClaimValue::Text(parse_uuid(&raw).map_or(raw, |(hyphenated, _)| hyphenated))
        }
        (_, Value::Text(text)) => ClaimValue::Text(text),
        (_, Value::Integer(n)) => ClaimValue::Integer(n),
        (_, Value::Real(x)) => ClaimValue::Float(x),
        (_, Value::Blob(_)) => ClaimValue::Null,
    })
}

fn kept<T>(answer: rusqlite::Result<T>) -> Result<(T, bool), StoreError> {
    answer.map(|value| (value, true)).map_err(db_error)
}

#[async_trait]
impl Store for DjangoSqliteStore {
    /// Django's tables are Django's to migrate: jwtd checked them at open and changes nothing.
    async fn migrate(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.db
            .run({
                let sql = Arc::clone(&self.sql);
                move |conn| {
                    conn.query_row(&sql.ping, [], |_| Ok(()))
                        .optional()
                        .map(drop)
                        .map_err(db_error)
                }
            })
            .await
    }

    async fn create_user(&self, _user: NewUser) -> Result<User, StoreError> {
        Err(users_are_djangos())
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.user_where(|sql| &sql.user_by_login, Value::Text(username.to_owned()))
            .await
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.user_where(|sql| &sql.user_by_id, Value::Integer(id))
            .await
    }

    fn id_claim_kind(&self) -> IdClaimKind {
        self.sql.id_claim
    }

    fn id_claim_is_primary_key(&self) -> bool {
        self.sql.id_claim_read.is_none()
    }

    async fn user_by_claim(&self, claim: &str) -> Result<Option<User>, StoreError> {
        if self.sql.id_claim_read.is_none() {
            return match parse_user_id(claim) {
                Some(id) => self.user_by_id(id).await,
                None => Ok(None),
            };
        }
        let key = match self.sql.id_claim {
            IdClaimKind::Integer => match parse_user_id(claim) {
                Some(n) => Value::Integer(n),
                None => return Ok(None),
            },
            // Django's SQLite backend stores a UUIDField as its 32 hex digits.
            IdClaimKind::Uuid => match parse_uuid(claim) {
                Some((_, hex)) => Value::Text(hex),
                None => return Ok(None),
            },
            IdClaimKind::Text => Value::Text(claim.to_owned()),
        };
        self.user_where(|sql| &sql.user_by_claim, key).await
    }

    fn check_claim_fields(&self, fields: &[String]) -> Result<(), StoreError> {
        self.sql.user_fields(fields).map(drop)
    }

    async fn user_claims(
        &self,
        user: &User,
        fields: &[String],
    ) -> Result<Vec<ClaimValue>, StoreError> {
        let (statement, reads) = self.sql.user_fields(fields)?;
        let (id, fields) = (user.id, fields.to_vec());
        self.read(move |conn, sql| {
            let columns = conn
                .prepare_cached(&statement)
                .and_then(|mut stmt| {
                    stmt.query_row([id], |row| {
                        (0..reads.len())
                            .map(|i| claim_value(row, i, &reads[i]))
                            .collect::<rusqlite::Result<Vec<_>>>()
                    })
                    .optional()
                })
                .map_err(db_error)?
                .unwrap_or_default();
            let groups = match (&sql.groups, fields.iter().any(|f| f == "groups")) {
                (Some(groups), true) => Some(
                    conn.prepare_cached(groups)
                        .and_then(|mut stmt| {
                            stmt.query_map([id], |row| text(row, 0))?
                                .collect::<rusqlite::Result<Vec<_>>>()
                        })
                        .map_err(db_error)?,
                ),
                _ => None,
            };
            Ok(claim_values(&fields, columns, groups))
        })
        .await
    }

    async fn upgrade_password(
        &self,
        id: UserId,
        old_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        let (old_hash, new_hash) = (old_hash.to_owned(), new_hash.to_owned());
        self.write(move |conn, sql| {
            kept(
                conn.prepare_cached(&sql.upgrade_password)
                    .and_then(|mut stmt| stmt.execute(params![id, old_hash, new_hash]))
                    .map(|rows| rows == 1),
            )
        })
        .await
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.db
            .run({
                let sql = Arc::clone(&self.sql);
                move |conn| list_users(conn, &sql).map_err(db_error)
            })
            .await
    }

    async fn set_password(&self, _username: &str, _hash: &str) -> Result<(), StoreError> {
        Err(users_are_djangos())
    }

    async fn set_active(&self, _username: &str, _is_active: bool) -> Result<(), StoreError> {
        Err(users_are_djangos())
    }

    async fn delete_user(&self, _username: &str) -> Result<(), StoreError> {
        Err(users_are_djangos())
    }

    async fn record_login(&self, id: UserId, at: i64) -> Result<(), StoreError> {
        if self.sql.record_login.is_none() {
            return Ok(());
        }
        self.write(move |conn, sql| {
            let statement = sql.record_login.as_deref().unwrap_or_default();
            kept(
                conn.prepare_cached(statement)
                    .and_then(|mut stmt| stmt.execute(params![id, at]))
                    .map(drop),
            )
        })
        .await
    }

    async fn record_issued(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let token = token.clone();
        self.write(move |conn, sql| kept(insert_outstanding(conn, sql, &token)))
            .await
    }

    async fn is_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        let jti = jti.to_owned();
        self.read(move |conn, sql| {
            conn.prepare_cached(&sql.is_blacklisted)
                .and_then(|mut stmt| stmt.exists([&jti]))
                .map_err(db_error)
        })
        .await
    }

    async fn blacklist(&self, token: &TokenRecord, at: i64) -> Result<Blacklisting, StoreError> {
        let token = token.clone();
        self.write(move |conn, sql| {
            kept(finished(jwtd_store::blacklist(
                &Statements { conn, sql },
                &token,
                at,
            )))
        })
        .await
    }

    async fn end_all_sessions(&self, user: UserId, at: i64) -> Result<u64, StoreError> {
        self.write(move |conn, sql| {
            let blacklisted = conn
                .prepare_cached(&sql.blacklist_user_tokens)
                .and_then(|mut stmt| stmt.execute(params![user, at]))
                .map_err(db_error)?;
            kept(Ok(blacklisted as u64))
        })
        .await
    }

    async fn rotate(&self, request: RotationRequest) -> Result<Rotation, StoreError> {
        self.write(move |conn, sql| {
            let outcome = finished(request.run(&Statements { conn, sql })).map_err(db_error)?;
            Ok((outcome, outcome.keeps_writes()))
        })
        .await
    }

    async fn flush_expired(&self, now: i64) -> Result<Flushed, StoreError> {
        let sql = Arc::clone(&self.sql);
        self.db
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db_error)?;
                let blacklisted = tx
                    .execute(&sql.flush_blacklisted, [now])
                    .map_err(db_error)?;
                let issued = tx
                    .execute(&sql.flush_outstanding, [now])
                    .map_err(db_error)?;
                tx.commit().map_err(db_error)?;
                Ok(Flushed {
                    issued: issued as u64,
                    blacklisted: blacklisted as u64,
                    ..Flushed::default()
                })
            })
            .await
    }

    async fn export(&self) -> Result<Snapshot, StoreError> {
        let sql = Arc::clone(&self.sql);
        self.db
            .run(move |conn| {
                let tx = conn.transaction().map_err(db_error)?;
                let snapshot = export(&tx, &sql).map_err(db_error)?;
                tx.commit().map_err(db_error)?;
                Ok(snapshot)
            })
            .await
    }

    async fn import(&self, _snapshot: &Snapshot) -> Result<(), StoreError> {
        Err(import_refused())
    }
}

fn list_users(conn: &Connection, sql: &DjangoSql) -> rusqlite::Result<Vec<User>> {
    let mut stmt = conn.prepare_cached(&sql.list_users)?;
    stmt.query_map([], |row| user(row, sql))?.collect()
}

fn export(tx: &rusqlite::Transaction<'_>, sql: &DjangoSql) -> rusqlite::Result<Snapshot> {
    let users = list_users(tx, sql)?;
    // AUTOINCREMENT (Django's AutoField on SQLite) keeps the highest id ever used.
    let sequence: Option<i64> = tx
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = ?1",
            [&sql.names.user_table],
            |row| row.get(0),
        )
        .optional()?;
    let issued = tx
        .prepare(&sql.export_outstanding)?
        .query_map([], |row| {
            Ok(TokenRecord {
                jti: text(row, 0)?,
                user_id: row.get(1)?,
                issued_at: row.get::<_, Option<i64>>(2)?.unwrap_or(0),
                expires_at: row.get::<_, Option<i64>>(3)?.unwrap_or(0),
                token: text(row, 4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let blacklisted = tx
        .prepare(&sql.export_blacklisted)?
        .query_map([], |row| {
            Ok(BlacklistEntry {
                jti: text(row, 0)?,
                blacklisted_at: row.get::<_, Option<i64>>(1)?.unwrap_or(0),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Snapshot {
        last_user_id: Snapshot::high_water_mark(&users, sequence),
        users,
        issued,
        blacklisted,
    })
}
