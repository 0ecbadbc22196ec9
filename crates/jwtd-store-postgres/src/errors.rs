//! tokio-postgres's and deadpool's failures mapped onto the store's kinds of trouble, with the
//! causes that say what went wrong.

use std::error::Error as _;

use deadpool_postgres::PoolError;
use jwtd_store::StoreError;

/// An error and its causes, `outer: inner: innermost` (tokio-postgres keeps the useful part,
/// such as the server's message or the OS error, in the cause).
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Maps a pool failure: everything that keeps us from a connection means "try later", except a
/// misbuilt pool.
pub(crate) fn pool_error(target: &str, err: PoolError) -> StoreError {
    match err {
        PoolError::Timeout(_) => StoreError::Unavailable(format!(
            "no connection to PostgreSQL at {target}: timed out"
        )),
        PoolError::Backend(e) => StoreError::Unavailable(format!(
            "cannot connect to PostgreSQL at {target}: {}",
            chain(&e)
        )),
        PoolError::NoRuntimeSpecified => StoreError::Internal(chain(&err)),
        other => StoreError::Unavailable(format!(
            "cannot connect to PostgreSQL at {target}: {}",
            chain(&other)
        )),
    }
}

/// Maps failures of a statement onto the store's kinds of trouble.
pub(crate) fn db_error(err: tokio_postgres::Error) -> StoreError {
    let text = chain(&err);
    if let Some(db) = err.as_db_error() {
        let code = db.code().code();
        let transient = [
            "08",    // connection exception
            "53",    // insufficient resources: disk full, out of memory, too many connections
            "57P",   // the server is shutting down, crashed, or starting
            "57014", // statement cancelled (statement_timeout, pg_cancel_backend)
            "58",    // system error: I/O
            "40001", // serialization failure
            "40P01", // deadlock detected
            "55P03", // lock not available (lock_timeout)
            "25006", // read-only transaction: connected to a standby
        ];
        return if code == "23505" {
            StoreError::Conflict(text)
        } else if transient.iter().any(|prefix| code.starts_with(prefix)) {
            StoreError::Unavailable(text)
        } else {
            StoreError::Internal(text)
        };
    }
    let io = err
        .source()
        .is_some_and(|cause| cause.downcast_ref::<std::io::Error>().is_some());
    if err.is_closed() || io || text.starts_with("timeout") {
        StoreError::Unavailable(format!("PostgreSQL connection lost: {text}"))
    } else {
        StoreError::Internal(text)
    }
}
