//! rusqlite's failures mapped onto the store's kinds of trouble, and the cause of a failed open
//! explained.

use std::path::Path;

use jwtd_store::StoreError;
use rusqlite::ErrorCode;

/// How an `Unavailable` for a lock held elsewhere begins.
const BUSY: &str = "database is busy";

/// Whether `err` is a lock held by another connection (nothing was done; trying again later
/// may succeed).
pub(crate) fn is_busy(err: &StoreError) -> bool {
    matches!(err, StoreError::Unavailable(message) if message.starts_with(BUSY))
}

/// Maps rusqlite failures onto the store's three kinds of trouble; the message of an
/// `Unavailable` starts with the cause in words an operator searches for.
pub(crate) fn db_error(err: rusqlite::Error) -> StoreError {
    match &err {
        rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
            ErrorCode::ConstraintViolation => StoreError::Conflict(err.to_string()),
            ErrorCode::ReadOnly => StoreError::Unavailable(format!("database is read-only: {err}")),
            ErrorCode::DiskFull => StoreError::Unavailable(format!("disk is full: {err}")),
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                StoreError::Unavailable(format!("{BUSY}: {err}"))
            }
            ErrorCode::CannotOpen | ErrorCode::PermissionDenied => {
                StoreError::Unavailable(format!("cannot open the database file: {err}"))
            }
            ErrorCode::SystemIoFailure
            | ErrorCode::OutOfMemory
            | ErrorCode::FileLockingProtocolFailed => {
                StoreError::Unavailable(format!("I/O error: {err}"))
            }
            _ => StoreError::Internal(err.to_string()),
        },
        _ => StoreError::Internal(err.to_string()),
    }
}

/// Explains a failed open. SQLite says only "unable to open database file" when it cannot make
/// its `-wal` and `-shm` files, so a directory that refuses a new file is named as the cause.
pub(crate) fn open_error(path: &Path, err: rusqlite::Error) -> StoreError {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let probe = dir.join(format!(".jwtd-write-check-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
        }
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            return StoreError::Unavailable(format!(
                "cannot open {}: database directory {} is read-only ({e}); SQLite must create \
                 its -wal and -shm files beside the database",
                path.display(),
                dir.display()
            ));
        }
        Err(_) => {}
    }
    match db_error(err) {
        StoreError::Unavailable(m) => {
            StoreError::Unavailable(format!("cannot open {}: {m}", path.display()))
        }
        other => other,
    }
}
