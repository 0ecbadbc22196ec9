//! The real binary rotating its keys on `SIGHUP`: the new key set in force without a restart,
//! tokens of the old key still accepted while it is retired and refused once removed, and a
//! broken configuration refused with the old key set still serving.

mod support;

use jwtd_token::{Algorithm, Keys};
use serde_json::Value;
use support::{Server, Workdir, login};

fn kid_of(alg: Algorithm, pem: &str) -> String {
    Keys::new(alg, pem.as_bytes(), None)
        .unwrap()
        .default_kid()
        .to_owned()
}

fn header_kid(token: &str) -> String {
    let (header, _) = jwtd_token::dangerous_decode_unverified(token).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

fn jwks_kids(server: &Server) -> Vec<String> {
    let (status, body) = server.get("/.well-known/jwks.json");
    assert_eq!(status, 200);
    let jwks: Value = serde_json::from_str(&body).unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn sighup_rotates_the_key_set_and_refuses_a_broken_one() {
    let old = jwtd_token::generate(Algorithm::ES256).unwrap();
    let new = jwtd_token::generate(Algorithm::ES256).unwrap();
    let work = Workdir::new();
    std::fs::write(work.path().join("old.pem"), &old).unwrap();
    std::fs::write(work.path().join("new.pem"), &new).unwrap();
    let config = work.path().join("jwtd.toml");
    let write_config = |text: &str| std::fs::write(&config, text).unwrap();
    write_config("algorithm = \"ES256\"\nsigning_key_file = \"old.pem\"\n");
    let work = work.with("JWTD_CONFIG", config.to_str().unwrap());
    work.create_user("alice");
    let mut server = Server::start(&work);
    let (old_kid, new_kid) = (
        kid_of(Algorithm::ES256, &old),
        kid_of(Algorithm::ES256, &new),
    );
    let (_, old_access) = login(&server, "alice");
    assert_eq!(header_kid(&old_access), old_kid);

    // Rotate: the new key signs, the old one verifies.
    write_config(
        "algorithm = \"ES256\"\nsigning_key_file = \"new.pem\"\n\n\
         [[keys]]\nfile = \"old.pem\"\nstate = \"retired\"\n",
    );
    server.signal("HUP");
    server.wait_for_log("reloaded the key set");
    assert_eq!(jwks_kids(&server), [new_kid.clone(), old_kid.clone()]);
    let (_, new_access) = login(&server, "alice");
    assert_eq!(header_kid(&new_access), new_kid);
    assert_eq!(server.get_auth("/hello/", &old_access).0, 200);
    assert_eq!(server.get_auth("/hello/", &new_access).0, 200);

    // A broken set is refused, with one line, and the previous one keeps serving.
    write_config("algorithm = \"ES256\"\nsigning_key_file = \"missing.pem\"\n");
    server.signal("HUP");
    server.wait_for_log("the new key set is refused");
    assert!(server.logs().contains("missing.pem"), "{}", server.logs());
    assert_eq!(jwks_kids(&server), [new_kid.clone(), old_kid.clone()]);
    let (_, still_new) = login(&server, "alice");
    assert_eq!(header_kid(&still_new), new_kid);
    assert_eq!(server.get_auth("/hello/", &old_access).0, 200);

    // The old key removed: its tokens are refused.
    write_config("algorithm = \"ES256\"\nsigning_key_file = \"new.pem\"\n");
    server.signal("HUP");
    server.wait_until(
        std::time::Duration::from_secs(10),
        "the old key to be removed",
        |server| match jwks_kids(server).len() {
            1 => Ok(()),
            n => Err(format!("{n} keys published")),
        },
    );
    assert_eq!(jwks_kids(&server), [new_kid]);
    assert_eq!(server.get_auth("/hello/", &old_access).0, 401);
    assert_eq!(server.get_auth("/hello/", &new_access).0, 200);
    // No key material in the logs.
    let logs = server.logs();
    for secret_line in old
        .lines()
        .chain(new.lines())
        .filter(|l| !l.starts_with("-----"))
    {
        assert!(!logs.contains(secret_line), "key material logged");
    }
}
