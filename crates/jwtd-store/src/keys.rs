//! Managed signing keys (`key_management = "managed"`) as the store keeps them, and the decision
//! every store shares about a batch of changes to them.
//!
//! The store keeps opaque rows: it never reads a key's material, checks its algorithm or applies
//! a rotation policy (that is the caller's). What it does guarantee is that a batch is a
//! compare-and-set on the active key, so that instances rotating at once apply one rotation.
//! [`plan`] makes that decision once for every store: given the rows read inside the store's
//! locked transaction, it answers the row writes to make, in an order that never holds two
//! active rows at once (the schema's unique index checks every statement, not the commit).

use std::str::FromStr;

/// A key's state in a managed key set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoredKeyState {
    /// Published, not yet signing: verifiers fetch it before it becomes active.
    Next,
    /// The one key that signs.
    Active,
    /// No longer signs; published until the tokens it signed have expired.
    Retired,
}

impl StoredKeyState {
    /// The state as stored in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            StoredKeyState::Next => "next",
            StoredKeyState::Active => "active",
            StoredKeyState::Retired => "retired",
        }
    }
}

impl std::fmt::Display for StoredKeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key state that is none of `next`, `active`, `retired`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown key state {0:?} (expected next, active or retired)")]
pub struct UnknownKeyState(pub String);

impl FromStr for StoredKeyState {
    type Err = UnknownKeyState;

    fn from_str(text: &str) -> Result<StoredKeyState, UnknownKeyState> {
        match text {
            "next" => Ok(StoredKeyState::Next),
            "active" => Ok(StoredKeyState::Active),
            "retired" => Ok(StoredKeyState::Retired),
            other => Err(UnknownKeyState(other.to_owned())),
        }
    }
}

/// One managed signing key as stored. `material` is opaque to the store: a PEM private key or
/// an HMAC secret, or those sealed with AES-256-GCM when `encrypted`.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// The key id, unique in the set (the JWT header's `kid`).
    pub kid: String,
    /// The algorithm, such as `ES256`; the store does not interpret it.
    pub algorithm: String,
    /// Where the key is in its life.
    pub state: StoredKeyState,
    /// The key's bytes, exactly as given.
    pub material: Vec<u8>,
    /// Whether `material` is sealed with the key encryption key.
    pub encrypted: bool,
    /// When the key was made.
    pub created_at: i64,
    /// When it became active, if it has.
    pub activated_at: Option<i64>,
    /// When it was retired, if it has been.
    pub retired_at: Option<i64>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("state", &self.state)
            .field("material", &"[redacted]")
            .field("encrypted", &self.encrypted)
            .field("created_at", &self.created_at)
            .field("activated_at", &self.activated_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

/// One change in an atomic batch ([`Store::update_keys`](crate::Store::update_keys)). The
/// changes of a batch apply in order, each to the set the previous ones left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyChange {
    /// Adds a key; its `kid` must not be in the set.
    Insert(StoredKey),
    /// Moves key `kid` to `state`, and sets both times to the values given (`None` clears one):
    /// pass the key's `activated_at` when retiring it, to keep it.
    SetState {
        /// The key to change; it must be in the set.
        kid: String,
        /// Its new state.
        state: StoredKeyState,
        /// Its `activated_at` from now on.
        activated_at: Option<i64>,
        /// Its `retired_at` from now on.
        retired_at: Option<i64>,
    },
    /// Removes key `kid`, which must be in the set.
    Delete {
        /// The key to remove.
        kid: String,
    },
}

/// What a batch did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUpdate {
    /// Every change is committed.
    Applied,
    /// Nothing was written: the active key was not the one expected (another instance rotated
    /// first), or a change did not fit the set. Read the keys again before deciding anew.
    Conflict,
}

/// One row write of a planned batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyWrite {
    /// Inserts a row.
    Insert(StoredKey),
    /// Replaces every column of the row with this `kid`.
    Update(StoredKey),
    /// Deletes the row with this `kid`.
    Delete(String),
}

impl KeyWrite {
    /// The `kid` of the row written.
    pub fn kid(&self) -> &str {
        match self {
            KeyWrite::Insert(key) | KeyWrite::Update(key) => &key.kid,
            KeyWrite::Delete(kid) => kid,
        }
    }
}

/// The refusal of the key methods by a store on another program's schema.
pub(crate) fn refused() -> crate::StoreError {
    crate::StoreError::Refused(
        "managed keys need jwtd's own schema (database_schema = \"jwtd\")".to_owned(),
    )
}

/// Decides a batch on `current`, the whole key set as read inside the store's locked
/// transaction: `None` (answer [`KeyUpdate::Conflict`], write nothing) when the active key is
/// not `expected_active`, when a change does not fit the set it meets, or when the set after
/// the batch would have more than one active key. Otherwise the row writes that take `current`
/// to that set: deletions and rows that end up not active first, active ones last, so that the
/// rows never hold two active keys between two statements, whatever the batch's order.
pub fn plan(
    current: &[StoredKey],
    expected_active: Option<&str>,
    changes: Vec<KeyChange>,
) -> Option<Vec<KeyWrite>> {
    let active = |key: &&StoredKey| key.state == StoredKeyState::Active;
    let active_now: Vec<&str> = current
        .iter()
        .filter(active)
        .map(|key| key.kid.as_str())
        .collect();
    if active_now.as_slice() != expected_active.as_slice() {
        return None;
    }
    let mut after: Vec<StoredKey> = current.to_vec();
    for change in changes {
        match change {
            KeyChange::Insert(key) => {
                if after.iter().any(|k| k.kid == key.kid) {
                    return None;
                }
                after.push(key);
            }
            KeyChange::SetState {
                kid,
                state,
                activated_at,
                retired_at,
            } => {
                let key = after.iter_mut().find(|k| k.kid == kid)?;
                key.state = state;
                key.activated_at = activated_at;
                key.retired_at = retired_at;
            }
            KeyChange::Delete { kid } => {
                let index = after.iter().position(|k| k.kid == kid)?;
                after.remove(index);
            }
        }
    }
    if after.iter().filter(active).count() > 1 {
        return None;
    }
    let mut writes: Vec<KeyWrite> = current
        .iter()
        .filter(|before| !after.iter().any(|k| k.kid == before.kid))
        .map(|gone| KeyWrite::Delete(gone.kid.clone()))
        .collect();
    let mut activating = Vec::new();
    for key in after {
        let is_active = key.state == StoredKeyState::Active;
        let write = match current.iter().find(|before| before.kid == key.kid) {
            None => KeyWrite::Insert(key),
            Some(before) if *before == key => continue,
            Some(_) => KeyWrite::Update(key),
        };
        if is_active {
            activating.push(write);
        } else {
            writes.push(write);
        }
    }
    writes.extend(activating);
    Some(writes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, state: StoredKeyState) -> StoredKey {
        StoredKey {
            kid: kid.to_owned(),
            algorithm: "ES256".to_owned(),
            state,
            material: kid.as_bytes().to_vec(),
            encrypted: false,
            created_at: 1,
            activated_at: (state == StoredKeyState::Active).then_some(2),
            retired_at: None,
        }
    }

    fn set(kid: &str, state: StoredKeyState, activated_at: Option<i64>) -> KeyChange {
        KeyChange::SetState {
            kid: kid.to_owned(),
            state,
            activated_at,
            retired_at: (state == StoredKeyState::Retired).then_some(9),
        }
    }

    fn kids(writes: &[KeyWrite]) -> Vec<String> {
        writes
            .iter()
            .map(|write| match write {
                KeyWrite::Insert(key) => format!("insert {}", key.kid),
                KeyWrite::Update(key) => format!("update {} {}", key.kid, key.state),
                KeyWrite::Delete(kid) => format!("delete {kid}"),
            })
            .collect()
    }

    #[test]
    fn states_round_trip_and_unknown_text_is_an_error() {
        for state in [
            StoredKeyState::Next,
            StoredKeyState::Active,
            StoredKeyState::Retired,
        ] {
            assert_eq!(state.as_str().parse::<StoredKeyState>(), Ok(state));
            assert_eq!(state.to_string(), state.as_str());
        }
        assert_eq!(
            "Active".parse::<StoredKeyState>(),
            Err(UnknownKeyState("Active".to_owned()))
        );
    }

    #[test]
    fn debug_hides_the_material() {
        let mut secret = key("k1", StoredKeyState::Next);
        secret.material = b"super-secret-hmac".to_vec();
        let text = format!("{secret:?}");
        assert!(!text.contains("super-secret"), "{text}");
        assert!(
            !format!("{:?}", KeyChange::Insert(secret)).contains("super-secret"),
            "a change's Debug must hide it too"
        );
    }

    /// A rotation listed promotion first still writes the demotion first: the schema would
    /// refuse a second active row even for one statement.
    #[test]
    fn a_rotation_demotes_before_it_promotes() {
        // The next key comes before the active one, as in a set listed by age where the next
        // key was added (made) earlier.
        let current = [
            key("old", StoredKeyState::Retired),
            key("b", StoredKeyState::Next),
            key("a", StoredKeyState::Active),
        ];
        let changes = vec![
            set("b", StoredKeyState::Active, Some(5)),
            set("a", StoredKeyState::Retired, Some(2)),
            KeyChange::Insert(key("c", StoredKeyState::Next)),
            KeyChange::Delete {
                kid: "old".to_owned(),
            },
        ];
        let writes = plan(&current, Some("a"), changes).expect("a valid rotation");
        assert_eq!(
            kids(&writes),
            [
                "delete old",
                "update a retired",
                "insert c",
                "update b active"
            ]
        );
    }

    #[test]
    fn the_active_key_must_be_the_expected_one() {
        let current = [key("a", StoredKeyState::Active)];
        assert_eq!(plan(&current, Some("a"), vec![]), Some(vec![]));
        assert_eq!(plan(&current, Some("b"), vec![]), None);
        assert_eq!(plan(&current, None, vec![]), None);
        assert_eq!(plan(&[], Some("a"), vec![]), None);
        assert_eq!(plan(&[], None, vec![]), Some(vec![]));
    }

    #[test]
    fn changes_that_do_not_fit_the_set_conflict() {
        let current = [key("a", StoredKeyState::Active)];
        let insert_a = KeyChange::Insert(key("a", StoredKeyState::Next));
        assert_eq!(plan(&current, Some("a"), vec![insert_a]), None);
        let twice = KeyChange::Insert(key("b", StoredKeyState::Next));
        assert_eq!(
            plan(&current, Some("a"), vec![twice.clone(), twice]),
            None,
            "a kid inserted twice in one batch"
        );
        let unknown = set("nope", StoredKeyState::Retired, None);
        assert_eq!(plan(&current, Some("a"), vec![unknown]), None);
        let delete_unknown = KeyChange::Delete {
            kid: "nope".to_owned(),
        };
        assert_eq!(plan(&current, Some("a"), vec![delete_unknown]), None);
        let second_active = KeyChange::Insert(key("b", StoredKeyState::Active));
        assert_eq!(plan(&current, Some("a"), vec![second_active]), None);
    }

    /// Changes apply in order, so a batch may touch one kid twice; only the net effect is
    /// written, and a change that leaves a row as it was writes nothing.
    #[test]
    fn only_the_net_effect_is_written() {
        let current = [key("a", StoredKeyState::Active)];
        let inserted_then_deleted = vec![
            KeyChange::Insert(key("b", StoredKeyState::Next)),
            KeyChange::Delete {
                kid: "b".to_owned(),
            },
        ];
        assert_eq!(
            plan(&current, Some("a"), inserted_then_deleted),
            Some(vec![])
        );
        let unchanged = vec![set("a", StoredKeyState::Active, Some(2))];
        assert_eq!(plan(&current, Some("a"), unchanged), Some(vec![]));
        let replaced = vec![
            KeyChange::Delete {
                kid: "a".to_owned(),
            },
            KeyChange::Insert(key("a", StoredKeyState::Retired)),
        ];
        let writes = plan(&current, Some("a"), replaced).unwrap();
        assert_eq!(kids(&writes), ["update a retired"]);
    }
}
