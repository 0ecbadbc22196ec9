//! The storage contract: every check is an `async fn` over `&dyn Store` (or `Arc<dyn Store>`
//! where tasks are spawned) and the [`Users`](crate::Users) that manage its users (the store
//! itself, or Django in raw SQL), and knows nothing of the backend. The test binary runs each one on a
//! fresh SQLite file and, when configured, on a fresh PostgreSQL database.
//!
//! Times are explicit Unix seconds; nothing here sleeps or reads a clock. The checks are by
//! topic in the modules below and all reachable from here.

mod blacklist;
mod django;
mod keys;
mod rotation;
mod sessions;
mod sharing;
mod snapshot;
mod users;

pub use blacklist::{
    blacklist_a_recorded_token, blacklist_an_unrecorded_token, blacklist_tokens_of_a_deleted_user,
    flush_expired_removes_only_expired,
};
pub use django::{
    django_blacklist_both_ways, django_custom_user_model, django_export_for_import,
    django_flush_expired_removes_only_expired, django_odd_claims_and_passwords,
    django_rows_are_simplejwts, django_upgrade_password_is_compare_and_set,
    django_user_changes_are_seen_at_the_next_read, django_user_writes_and_import_are_refused,
};
pub use keys::{
    concurrent_key_rotations, delete_a_key, django_keys_are_refused,
    duplicate_kid_conflicts_and_writes_nothing, insert_and_read_back_every_field,
    keys_are_listed_oldest_first, keys_start_empty, rotation_is_a_compare_and_set,
    set_state_of_an_unknown_kid_conflicts, stored_key, two_active_keys_conflict,
};
pub use rotation::{
    concurrent_rotation, many_rotations_at_once, rotate_a_blacklisted_token_without_blacklisting,
    rotate_an_unrecorded_token, rotate_blacklisting_the_old_token, rotate_without_blacklisting,
};
pub use sessions::{
    ACCESS, a_session_starts_only_with_the_password_it_verified, access, access_jti,
    change_password_revokes_everything, concurrent_count_attempts, concurrent_end_session,
    concurrent_rotation_in_a_session, count_attempt_counts_per_window, count_attempt_is_not_shared,
    deny_access_and_is_access_denied, django_logout_all_blacklists_the_users_tokens,
    django_sessions_are_not_kept, end_all_sessions_logs_the_user_out_everywhere,
    end_session_of_an_expired_session_is_false, end_session_revokes_the_session,
    flush_expired_forgets_expired_access_tokens_of_live_sessions,
    flush_expired_removes_expired_sessions_and_denials, login, logout_all_racing_the_sessions,
    rotation_in_a_session_moves_it_on, rotation_into_an_ended_session_writes_nothing, session_id,
    sessions_are_listed_live_and_newest_first, start_session_records_the_token_in_its_session,
    step, touch_session_stamps_the_last_use,
};
pub use sharing::{durable_check, durable_write, two_stores_see_each_other};
pub use snapshot::{copy_preserves_everything, import_refuses_a_store_with_data};
pub use users::{
    create_and_look_up_users, deleted_ids_are_never_reused, duplicate_username_conflicts,
    emails_are_unique_and_found, list_users_ordered_by_id, migrate_is_idempotent, ping_works,
    record_login_sets_last_login, update_and_delete_users,
    upgrade_password_only_replaces_the_hash_it_read,
};
