//! jwtd's HTTP API against the recorded simplejwt contract (`shared/spec/simplejwt-contract.md`,
//! cases G1-G184), as amended by `shared/spec/jwtd-decisions.md`: one binary, one real server
//! per test on port 0 with a fresh SQLite file.

mod adversarial;
mod adversarial_body;
mod asymmetric;
mod audience;
mod blacklist;
mod body;
mod cookies;
mod django;
mod expiry;
mod hash_upgrade;
mod helpers;
mod key_sets;
mod leeway;
mod login_by_email;
mod obtain;
mod openapi;
mod production;
mod protected;
mod refresh;
mod rotation;
mod routes;
mod sessions;
mod sliding;
mod users;
mod verify;
