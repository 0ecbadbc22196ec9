//! `database_schema = "django"` on PostgreSQL: a Django project's database, shared with its
//! Django workers and with other jwtd instances.
//!
//! The statements are [`DjangoSql`]'s, planned once at connect from the database's own catalog
//! (`information_schema.columns` of the current schema); this module only runs them, on the
//! same pool and timeouts as jwtd's own schema. Rotation and blacklisting are arbitrated by
//! simplejwt's own unique keys (`outstandingtoken.jti`, `blacklistedtoken.token_id`) with
//! `ON CONFLICT DO NOTHING`, so they hold across jwtd instances and Django workers alike.

use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Object};
use jwtd_store::django::{
    Catalog, Dialect, DjangoNames, DjangoSql, FieldRead, UniqueColumns, claim_values,
    import_refused, users_are_djangos,
};
use jwtd_store::{
    BlacklistEntry, Blacklisting, ClaimValue, Flushed, IdClaimKind, NewUser, Rotation,
    RotationRequest, Snapshot, Store, StoreError, TokenRecord, TokenStatements, User, UserId,
    parse_user_id, parse_uuid,
};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::errors::db_error;
use crate::{PostgresOptions, PostgresStore};

/// A [`Store`] on a Django project's PostgreSQL database.
#[derive(Clone)]
pub struct DjangoPostgresStore {
    db: PostgresStore,
    sql: Arc<DjangoSql>,
}

impl std::fmt::Debug for DjangoPostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DjangoPostgresStore")
            .field("target", &self.db.target)
            .field("user_table", &self.sql.names.user_table)
            .finish()
    }
}

impl DjangoPostgresStore {
    /// Connects to the Django database at `url` and checks that it holds what jwtd needs (the
    /// user table and simplejwt's blacklist tables, with compatible columns); the error says in
    /// one line what to fix. Unlike [`PostgresStore::connect`] this needs the server up: the
    /// catalog is read now.
    pub async fn connect(
        url: &str,
        options: PostgresOptions,
        names: &DjangoNames,
    ) -> Result<DjangoPostgresStore, StoreError> {
        let db = PostgresStore::connect(url, options)?;
        let tables: Vec<String> = names.tables().iter().map(|t| (*t).to_owned()).collect();
        let (catalog, unique) = db
            .run(async |client| {
                Ok((
                    read_catalog(client, &tables).await?,
                    unique_columns(client, &names.user_table).await?,
                ))
            })
            .await?;
        let sql = DjangoSql::plan(names, Dialect::Postgres, &catalog, &unique)?;
        Ok(DjangoPostgresStore {
            db,
            sql: Arc::new(sql),
        })
    }

    /// The planned statements.
    pub fn statements(&self) -> &DjangoSql {
        &self.sql
    }

    async fn user_where(
        &self,
        statement: &str,
        key: &(dyn ToSql + Sync),
    ) -> Result<Option<User>, StoreError> {
        let sql = &self.sql;
        self.db
            .run(async |client| {
                let stmt = client.prepare_cached(statement).await.map_err(db_error)?;
                let row = client.query_opt(&stmt, &[key]).await.map_err(db_error)?;
                row.map(|row| user(&row, sql)).transpose()
            })
            .await
    }
}

async fn read_catalog(client: &Object, tables: &[String]) -> Result<Catalog, StoreError> {
    let rows = client
        .query(
            "SELECT table_name::text, column_name::text, data_type::text
             FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = ANY($1)
             ORDER BY table_name, ordinal_position",
            &[&tables],
        )
        .await
        .map_err(db_error)?;
    let mut catalog = Catalog::new();
    for row in rows {
        let (table, column, declared): (String, String, String) =
            (row.get(0), row.get(1), row.get(2));
        catalog.entry(table).or_default().push((column, declared));
    }
    Ok(catalog)
}

/// The columns of `table` (in the current schema) that are unique on their own: a primary key,
/// unique constraint or unique index on that column alone, without a predicate or expression.
async fn unique_columns(client: &Object, table: &str) -> Result<UniqueColumns, StoreError> {
    let rows = client
        .query(
            "SELECT a.attname::text FROM pg_index i
             JOIN pg_class c ON c.oid = i.indrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
             WHERE n.nspname = current_schema() AND c.relname = $1 AND i.indisunique
               AND i.indnkeyatts = 1 AND i.indpred IS NULL AND i.indexprs IS NULL",
            &[&table],
        )
        .await
        .map_err(db_error)?;
    let columns = rows.iter().map(|row| row.get::<_, String>(0)).collect();
    Ok(UniqueColumns::from([(table.to_owned(), columns)]))
}

/// A user row as [`DjangoSql`] selects it: `id, login, password, is_active, date_joined,
/// last_login, id_claim`. A NULL password or login is empty, which nothing matches.
fn user(row: &Row, sql: &DjangoSql) -> Result<User, StoreError> {
    let read = || {
        Ok::<_, tokio_postgres::Error>(User {
            id: row.try_get(0)?,
            username: row.try_get::<_, Option<String>>(1)?.unwrap_or_default(),
            password_hash: row.try_get::<_, Option<String>>(2)?.unwrap_or_default(),
            is_active: row.try_get::<_, Option<bool>>(3)?.unwrap_or(false),
            date_joined: row.try_get::<_, Option<i64>>(4)?.unwrap_or(0),
            last_login: row.try_get(5)?,
            // A NULL claim column is an empty claim, which names nobody: never `None`, which
            // would mean "the id is the claim" and could name another user.
            id_claim: match sql.id_claim_read {
                None => None,
                Some(_) => Some(row.try_get::<_, Option<String>>(6)?.unwrap_or_default()),
            },
            email: row
                .try_get::<_, Option<String>>(7)?
                .filter(|email| !email.is_empty()),
            tokens_valid_after: 0,
            access_denied_until: 0,
        })
    };
    read().map_err(db_error)
}

/// simplejwt's two token statements on Django's tables, on one client or transaction.
struct Statements<'c, C> {
    client: &'c C,
    sql: &'c DjangoSql,
}

impl<C: GenericClient> TokenStatements for Statements<'_, C> {
    type Error = tokio_postgres::Error;

    async fn record_issued(&self, token: &TokenRecord) -> Result<(), tokio_postgres::Error> {
        let stmt = self
            .client
            .prepare_cached(&self.sql.insert_outstanding)
            .await?;
        self.client
            .execute(
                &stmt,
                &[
                    &token.token,
                    &token.issued_at,
                    &token.expires_at,
                    &token.user_id,
                    &token.jti,
                ],
            )
            .await
            .map(drop)
    }

    /// A concurrent insert for the same outstanding token makes this one wait for that
    /// transaction, then insert nothing if it committed (`token_id` is unique).
    async fn insert_blacklisted(
        &self,
        jti: &str,
        at: i64,
    ) -> Result<Blacklisting, tokio_postgres::Error> {
        let stmt = self
            .client
            .prepare_cached(&self.sql.insert_blacklisted)
            .await?;
        let inserted = self.client.execute(&stmt, &[&jti, &at]).await?;
        Ok(Blacklisting::from_rows_inserted(inserted))
    }
}

fn claim_value(
    row: &Row,
    index: usize,
    read: &FieldRead,
) -> Result<ClaimValue, tokio_postgres::Error> {
    Ok(match read {
        FieldRead::Bool => row
            .try_get::<_, Option<bool>>(index)?
            .map_or(ClaimValue::Null, ClaimValue::Bool),
        FieldRead::Integer => row
            .try_get::<_, Option<i64>>(index)?
            .map_or(ClaimValue::Null, ClaimValue::Integer),
        FieldRead::Float => row
            .try_get::<_, Option<f64>>(index)?
            .map_or(ClaimValue::Null, ClaimValue::Float),
        FieldRead::Text | FieldRead::Uuid => row
            .try_get::<_, Option<String>>(index)?
            .map_or(ClaimValue::Null, ClaimValue::Text),
    })
}

#[async_trait]
impl Store for DjangoPostgresStore {
    /// Django's tables are Django's to migrate: jwtd checked them at connect and changes
    /// nothing.
    async fn migrate(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let ping = self.sql.ping.as_str();
        self.db
            .run(async |client| {
                client
                    .query_opt(ping, &[])
                    .await
                    .map(drop)
                    .map_err(db_error)
            })
            .await
    }

    async fn create_user(&self, _user: NewUser) -> Result<User, StoreError> {
        Err(users_are_djangos())
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.user_where(&self.sql.user_by_login, &username).await
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.user_where(&self.sql.user_by_id, &id).await
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
        match self.sql.id_claim {
            IdClaimKind::Integer => match parse_user_id(claim) {
                Some(n) => self.user_where(&self.sql.user_by_claim, &n).await,
                None => Ok(None),
            },
            IdClaimKind::Uuid => match parse_uuid(claim) {
                Some((hyphenated, _)) => {
                    self.user_where(&self.sql.user_by_claim, &hyphenated).await
                }
                None => Ok(None),
            },
            IdClaimKind::Text => self.user_where(&self.sql.user_by_claim, &claim).await,
        }
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
        let (id, sql) = (user.id, &self.sql);
        self.db
            .run(async |client| {
                let stmt = client.prepare_cached(&statement).await.map_err(db_error)?;
                let columns = match client.query_opt(&stmt, &[&id]).await.map_err(db_error)? {
                    Some(row) => (0..reads.len())
                        .map(|i| claim_value(&row, i, &reads[i]))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(db_error)?,
                    None => Vec::new(),
                };
                let groups = match (&sql.groups, fields.iter().any(|f| f == "groups")) {
                    (Some(groups), true) => {
                        let stmt = client.prepare_cached(groups).await.map_err(db_error)?;
                        Some(
                            client
                                .query(&stmt, &[&id])
                                .await
                                .map_err(db_error)?
                                .iter()
                                .map(|row| row.try_get::<_, String>(0))
                                .collect::<Result<Vec<_>, _>>()
                                .map_err(db_error)?,
                        )
                    }
                    _ => None,
                };
                Ok(claim_values(fields, columns, groups))
            })
            .await
    }

    async fn upgrade_password(
        &self,
        id: UserId,
        old_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        let statement = self.sql.upgrade_password.as_str();
        self.db
            .run(async |client| {
                let stmt = client.prepare_cached(statement).await.map_err(db_error)?;
                let rows = client
                    .execute(&stmt, &[&id, &old_hash, &new_hash])
                    .await
                    .map_err(db_error)?;
                Ok(rows == 1)
            })
            .await
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let sql = &self.sql;
        self.db
            .run(async |client| list_users(client, sql).await)
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
        let Some(statement) = self.sql.record_login.as_deref() else {
            return Ok(());
        };
        self.db
            .run(async |client| {
                let stmt = client.prepare_cached(statement).await.map_err(db_error)?;
                client
                    .execute(&stmt, &[&id, &at])
                    .await
                    .map(drop)
                    .map_err(db_error)
            })
            .await
    }

    async fn record_issued(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let sql = &self.sql;
        self.db
            .run(async |client| {
                Statements {
                    client: &*client,
                    sql,
                }
                .record_issued(token)
                .await
                .map_err(db_error)
            })
            .await
    }

    async fn is_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        let statement = self.sql.is_blacklisted.as_str();
        self.db
            .run(async |client| {
                let stmt = client.prepare_cached(statement).await.map_err(db_error)?;
                let row = client.query_opt(&stmt, &[&jti]).await.map_err(db_error)?;
                Ok(row.is_some())
            })
            .await
    }

    async fn blacklist(&self, token: &TokenRecord, at: i64) -> Result<Blacklisting, StoreError> {
        let sql = &self.sql;
        self.db
            .run(async |client| {
                let tx = client.transaction().await.map_err(db_error)?;
                let outcome = jwtd_store::blacklist(&Statements { client: &tx, sql }, token, at)
                    .await
                    .map_err(db_error)?;
                tx.commit().await.map_err(db_error)?;
                Ok(outcome)
            })
            .await
    }

    async fn end_all_sessions(&self, user: UserId, at: i64) -> Result<u64, StoreError> {
        let sql = &self.sql;
        self.db
            .run(async |client| {
                let stmt = client
                    .prepare_cached(&sql.blacklist_user_tokens)
                    .await
                    .map_err(db_error)?;
                client.execute(&stmt, &[&user, &at]).await.map_err(db_error)
            })
            .await
    }

    async fn rotate(&self, request: RotationRequest) -> Result<Rotation, StoreError> {
        let sql = &self.sql;
        self.db
            .run(async |client| {
                let tx = client.transaction().await.map_err(db_error)?;
                let outcome = request
                    .run(&Statements { client: &tx, sql })
                    .await
                    .map_err(db_error)?;
                if outcome.keeps_writes() {
                    tx.commit().await.map_err(db_error)?;
                } else {
                    tx.rollback().await.map_err(db_error)?;
                }
                Ok(outcome)
            })
            .await
    }

    async fn flush_expired(&self, now: i64) -> Result<Flushed, StoreError> {
        let sql = &self.sql;
        self.db
            .run(async |client| {
                let tx = client.transaction().await.map_err(db_error)?;
                let blacklisted = tx
                    .execute(&sql.flush_blacklisted, &[&now])
                    .await
                    .map_err(db_error)?;
                let issued = tx
                    .execute(&sql.flush_outstanding, &[&now])
                    .await
                    .map_err(db_error)?;
                tx.commit().await.map_err(db_error)?;
                Ok(Flushed {
                    issued,
                    blacklisted,
                    ..Flushed::default()
                })
            })
            .await
    }

    async fn export(&self) -> Result<Snapshot, StoreError> {
        let sql = &self.sql;
        self.db
            .run(async |client| {
                let tx = client
                    .build_transaction()
                    .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()
                    .await
                    .map_err(db_error)?;
                let snapshot = export(&tx, sql).await?;
                tx.commit().await.map_err(db_error)?;
                Ok(snapshot)
            })
            .await
    }

    async fn import(&self, _snapshot: &Snapshot) -> Result<(), StoreError> {
        Err(import_refused())
    }
}

async fn list_users(client: &impl GenericClient, sql: &DjangoSql) -> Result<Vec<User>, StoreError> {
    let stmt = client
        .prepare_cached(&sql.list_users)
        .await
        .map_err(db_error)?;
    client
        .query(&stmt, &[])
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| user(row, sql))
        .collect()
}

async fn export(client: &impl GenericClient, sql: &DjangoSql) -> Result<Snapshot, StoreError> {
    let users = list_users(client, sql).await?;
    // The user table's id sequence (Django's identity column) knows the highest id ever given.
    let sequence: Option<i64> = client
        .query_opt(
            "SELECT s.last_value FROM pg_sequences s
             WHERE format('%I.%I', s.schemaname, s.sequencename) = pg_get_serial_sequence($1, 'id')",
            &[&format!("\"{}\"", sql.names.user_table)],
        )
        .await
        .map_err(db_error)?
        .and_then(|row| row.get::<_, Option<i64>>(0));
    let issued = client
        .query(&sql.export_outstanding, &[])
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| {
            Ok(TokenRecord {
                jti: row.try_get(0)?,
                user_id: row.try_get(1)?,
                issued_at: row.try_get::<_, Option<i64>>(2)?.unwrap_or(0),
                expires_at: row.try_get::<_, Option<i64>>(3)?.unwrap_or(0),
                token: row.try_get(4)?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()
        .map_err(db_error)?;
    let blacklisted = client
        .query(&sql.export_blacklisted, &[])
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| {
            Ok(BlacklistEntry {
                jti: row.try_get(0)?,
                blacklisted_at: row.try_get::<_, Option<i64>>(1)?.unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()
        .map_err(db_error)?;
    Ok(Snapshot {
        last_user_id: Snapshot::high_water_mark(&users, sequence),
        users,
        issued,
        blacklisted,
    })
}
