//! The store suite: every contract check in `jwtd_store_tests::contract` runs on a fresh SQLite
//! file, and on a fresh PostgreSQL database when `JWTD_TEST_DATABASE_URL` is set. Test names are
//! `<check>::sqlite` and `<check>::postgres`, so `cargo test -p jwtd-store-tests postgres` runs
//! one backend. Checks that need a backend's internals (raw columns, file permissions, a cut
//! connection) are in `sqlite.rs` and `postgres.rs`.

mod django;
mod postgres;
mod sqlite;

/// One module per contract check, with a test per backend. (Checks that race tasks, or need two
/// stores, are spelled out in the backend files.)
macro_rules! contract_tests {
    ($($check:ident),* $(,)?) => {$(
        mod $check {
            #[tokio::test]
            async fn sqlite() {
                let (_dir, store) = crate::sqlite::fresh().await;
                jwtd_store_tests::contract::$check(&store, &jwtd_store_tests::Users::Store).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some((_db, store)) = crate::postgres::fresh().await else {
                    return;
                };
                jwtd_store_tests::contract::$check(&store, &jwtd_store_tests::Users::Store).await;
            }
        }
    )*};
}

contract_tests!(
    migrate_is_idempotent,
    ping_works,
    create_and_look_up_users,
    duplicate_username_conflicts,
    emails_are_unique_and_found,
    list_users_ordered_by_id,
    update_and_delete_users,
    deleted_ids_are_never_reused,
    record_login_sets_last_login,
    upgrade_password_only_replaces_the_hash_it_read,
    blacklist_a_recorded_token,
    blacklist_an_unrecorded_token,
    rotate_blacklisting_the_old_token,
    rotate_an_unrecorded_token,
    rotate_without_blacklisting,
    rotate_a_blacklisted_token_without_blacklisting,
    flush_expired_removes_only_expired,
    import_refuses_a_store_with_data,
    keys_start_empty,
    insert_and_read_back_every_field,
    keys_are_listed_oldest_first,
    rotation_is_a_compare_and_set,
    duplicate_kid_conflicts_and_writes_nothing,
    delete_a_key,
    set_state_of_an_unknown_kid_conflicts,
    two_active_keys_conflict,
    start_session_records_the_token_in_its_session,
    sessions_are_listed_live_and_newest_first,
    rotation_in_a_session_moves_it_on,
    touch_session_stamps_the_last_use,
    rotation_into_an_ended_session_writes_nothing,
    a_session_starts_only_with_the_password_it_verified,
    end_session_revokes_the_session,
    end_session_of_an_expired_session_is_false,
    end_all_sessions_logs_the_user_out_everywhere,
    change_password_revokes_everything,
    deny_access_and_is_access_denied,
    flush_expired_removes_expired_sessions_and_denials,
    flush_expired_forgets_expired_access_tokens_of_live_sessions,
);

/// Copying (`export` then `import`) in every direction between the two backends.
mod copy_preserves_everything {
    use jwtd_store_tests::Users;
    use jwtd_store_tests::contract::copy_preserves_everything;

    #[tokio::test]
    async fn sqlite_to_sqlite() {
        let (_source_dir, source) = crate::sqlite::fresh().await;
        let (_target_dir, target) = crate::sqlite::fresh().await;
        copy_preserves_everything(&source, &Users::Store, &target).await;
    }

    #[tokio::test]
    async fn sqlite_to_postgres() {
        let (_dir, source) = crate::sqlite::fresh().await;
        let Some((_db, target)) = crate::postgres::fresh().await else {
            return;
        };
        copy_preserves_everything(&source, &Users::Store, &target).await;
    }

    #[tokio::test]
    async fn postgres_to_sqlite() {
        let Some((_db, source)) = crate::postgres::fresh().await else {
            return;
        };
        let (_dir, target) = crate::sqlite::fresh().await;
        copy_preserves_everything(&source, &Users::Store, &target).await;
    }

    #[tokio::test]
    async fn postgres_to_postgres() {
        let Some((_source_db, source)) = crate::postgres::fresh().await else {
            return;
        };
        let Some((_target_db, target)) = crate::postgres::fresh().await else {
            return;
        };
        copy_preserves_everything(&source, &Users::Store, &target).await;
    }
}
