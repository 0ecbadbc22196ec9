//! Django's own hashes, checked as Django checks them, and make → check round trips.
//!
//! `tests/data/password-hashes.json` is the output of Django 5.2.19's `make_password` (with
//! argon2-cffi 25.1.0 and bcrypt 5.0.0), each hash verified there with `check_password` and its
//! `must_update` verdict taken under two `PASSWORD_HASHERS` lists. It is a verbatim copy of the
//! project's shared Django vectors, kept here so the repository needs nothing outside itself.

use jwtd_password::{Algorithm, Check, Hashers, Identified, identify, limits};
use serde::Deserialize;

const VECTORS: &str = include_str!("data/password-hashes.json");

#[derive(Deserialize)]
struct File {
    password_hashers: Lists,
    preferred_pbkdf2_iterations: u32,
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Lists {
    default: Vec<String>,
    argon2_first: Vec<String>,
}

#[derive(Deserialize)]
struct Vector {
    hasher: String,
    password: String,
    encoded: String,
    wrong_password: String,
    #[serde(default)]
    password_rejected: bool,
    must_update: Verdicts,
}

#[derive(Deserialize)]
struct Verdicts {
    default: bool,
    argon2_first: bool,
}

/// Django's hasher class names, as the file lists them.
fn algorithm(class: &str) -> Algorithm {
    Algorithm::from_django_class(class)
        .unwrap_or_else(|| panic!("unknown Django hasher class {class}"))
}

fn file() -> File {
    serde_json::from_str(VECTORS).expect("the vectors parse")
}

/// The file's two lists, as `Hashers`.
fn lists(file: &File) -> (Hashers, Hashers) {
    let make = |classes: &[String]| {
        Hashers::new(
            classes.iter().map(|c| algorithm(c)).collect(),
            file.preferred_pbkdf2_iterations,
        )
        .unwrap()
    };
    (
        make(&file.password_hashers.default),
        make(&file.password_hashers.argon2_first),
    )
}

/// Every vector of one hasher: `password` verifies (unless unusable), `wrong_password` does not,
/// and `must_update` is Django's verdict under both lists.
fn check_vectors(hasher: &str) {
    let file = file();
    let (default, argon2_first) = lists(&file);
    let vectors: Vec<&Vector> = file.vectors.iter().filter(|v| v.hasher == hasher).collect();
    assert!(!vectors.is_empty(), "no {hasher} vectors");
    for vector in vectors {
        let what = format!("{} ({:?})", vector.encoded, vector.password);
        if vector.password_rejected {
            assert_eq!(identify(&vector.encoded), Identified::Unusable, "{what}");
        } else {
            assert_eq!(
                identify(&vector.encoded),
                Identified::Algorithm(vector.hasher.parse().unwrap()),
                "{what}"
            );
        }
        for (name, hashers, verdict) in [
            ("default", &default, vector.must_update.default),
            (
                "argon2_first",
                &argon2_first,
                vector.must_update.argon2_first,
            ),
        ] {
            let check = hashers.check(&vector.password, &vector.encoded);
            let expected = Check {
                matches: !vector.password_rejected,
                must_update: verdict,
            };
            assert_eq!(check, expected, "{what} under {name}");
            assert_eq!(
                hashers.must_update(&vector.encoded),
                verdict,
                "{what} under {name}"
            );
        }
        let wrong = default.check(&vector.wrong_password, &vector.encoded);
        assert_eq!(
            wrong,
            Check {
                matches: false,
                must_update: false
            },
            "{what} with {:?}",
            vector.wrong_password
        );
    }
}

#[test]
fn pbkdf2_sha256_vectors() {
    check_vectors("pbkdf2_sha256");
}

#[test]
fn pbkdf2_sha1_vectors() {
    check_vectors("pbkdf2_sha1");
}

#[test]
fn argon2_vectors() {
    check_vectors("argon2");
}

#[test]
fn bcrypt_sha256_vectors() {
    check_vectors("bcrypt_sha256");
}

#[test]
fn bcrypt_vectors() {
    check_vectors("bcrypt");
}

#[test]
fn scrypt_vectors() {
    check_vectors("scrypt");
}

#[test]
fn md5_vectors() {
    check_vectors("md5");
}

#[test]
fn unusable_vectors() {
    check_vectors("unusable");
}

#[test]
fn every_vector_is_covered() {
    let known = [
        "pbkdf2_sha256",
        "pbkdf2_sha1",
        "argon2",
        "bcrypt_sha256",
        "bcrypt",
        "scrypt",
        "md5",
        "unusable",
    ];
    let file = file();
    assert_eq!(file.vectors.len(), 58);
    for vector in &file.vectors {
        assert!(known.contains(&vector.hasher.as_str()), "{}", vector.hasher);
    }
}

/// Made with each hasher preferred (PBKDF2 at 1,000 iterations to keep this quick), a hash
/// has Django's form and parameters, verifies, refuses a wrong password and is not out of date.
#[test]
fn make_then_check_round_trips() {
    const PASSWORD: &str = "pässwörd 🦀 correct horse";
    for algorithm in Algorithm::ALL {
        let mut list = vec![algorithm];
        list.extend(Algorithm::ALL.into_iter().filter(|&a| a != algorithm));
        let hashers = Hashers::new(list, 1000).unwrap();
        let encoded = hashers.make(PASSWORD).unwrap();
        let form = match algorithm {
            Algorithm::Argon2id => "$argon2id$v=19$m=19456,t=2,p=1$",
            Algorithm::Pbkdf2Sha256 => "pbkdf2_sha256$1000$",
            Algorithm::Pbkdf2Sha1 => "pbkdf2_sha1$1000$",
            Algorithm::Argon2 => "argon2$argon2id$v=19$m=102400,t=2,p=8$",
            Algorithm::BcryptSha256 => "bcrypt_sha256$$2b$12$",
            Algorithm::Bcrypt => "bcrypt$$2b$12$",
            Algorithm::Scrypt => "scrypt$16384$",
            Algorithm::Md5 => "md5$",
        };
        assert!(encoded.starts_with(form), "{encoded}");
        assert!(encoded.len() <= 128, "fits Django's column: {encoded}");
        assert_eq!(identify(&encoded), Identified::Algorithm(algorithm));
        assert_eq!(
            hashers.check(PASSWORD, &encoded),
            Check {
                matches: true,
                must_update: false
            },
            "{encoded}"
        );
        assert!(!hashers.check("pässwörd", &encoded).matches, "{encoded}");
        assert!(!hashers.check("", &encoded).matches, "{encoded}");
        assert!(!hashers.must_update(&encoded));

        // Django's 22-character salts.
        let fields: Vec<&str> = encoded.split('$').collect();
        match algorithm {
            Algorithm::Pbkdf2Sha256 | Algorithm::Pbkdf2Sha1 | Algorithm::Scrypt => {
                assert_eq!(fields[2].len(), 22, "{encoded}")
            }
            Algorithm::Md5 => {
                assert_eq!(fields[1].len(), 22, "{encoded}");
                assert_eq!(fields[2].len(), 32, "{encoded}");
            }
            _ => {}
        }

        // A fresh salt each time.
        assert_ne!(hashers.make(PASSWORD).unwrap(), encoded);

        // Under a list that prefers another hasher, it still matches and is moved on.
        let other = if algorithm == Algorithm::Md5 {
            Algorithm::Pbkdf2Sha1
        } else {
            Algorithm::Md5
        };
        let moved = Hashers::new(vec![other, algorithm], 1000).unwrap();
        assert_eq!(
            moved.check(PASSWORD, &encoded),
            Check {
                matches: true,
                must_update: true
            },
            "{encoded}"
        );
        // And under one that does not list it at all, it is refused.
        let unlisted = Hashers::new(vec![other], 1000).unwrap();
        assert!(!unlisted.check(PASSWORD, &encoded).matches, "{encoded}");
    }
}

#[test]
fn jwtd_default_moves_django_users_to_argon2id() {
    let hashers = Hashers::jwtd_default();
    let file = file();
    let pbkdf2 = file
        .vectors
        .iter()
        .find(|v| v.hasher == "pbkdf2_sha256")
        .unwrap();
    assert_eq!(
        hashers.check(&pbkdf2.password, &pbkdf2.encoded),
        Check {
            matches: true,
            must_update: true
        }
    );
    // Plain bcrypt and md5 are not in Django's default list, nor in jwtd's.
    for hasher in ["bcrypt", "md5"] {
        let vector = file.vectors.iter().find(|v| v.hasher == hasher).unwrap();
        assert!(!hashers.check(&vector.password, &vector.encoded).matches);
    }
    // jwtd's own hashes at other parameters, or of the older variants (bare PHC strings),
    // verify and are rehashed.
    for (variant, params) in [
        (argon2_rust::Algorithm::Argon2id, (256, 3, 2)),
        (argon2_rust::Algorithm::Argon2i, (4096, 3, 4)),
        (argon2_rust::Algorithm::Argon2d, (19456, 2, 1)),
        (argon2_rust::Algorithm::Argon2i, (19456, 2, 1)),
    ] {
        let (m, t, p) = params;
        let params = argon2_rust::Params::builder()
            .memory(argon2_rust::params::Memory::kib(m))
            .passes(t)
            .lanes(p)
            .build()
            .unwrap();
        let stored = argon2_rust::Argon2::new(variant, argon2_rust::Version::V0x13, params)
            .hash_encoded(b"pw", b"sixteen byte salt")
            .unwrap();
        assert_eq!(
            identify(&stored),
            Identified::Algorithm(Algorithm::Argon2id)
        );
        assert_eq!(
            hashers.check("pw", &stored),
            Check {
                matches: true,
                must_update: true
            },
            "{stored}"
        );
        assert!(!hashers.check("pw2", &stored).matches, "{stored}");
    }
    let made = hashers.make("pw").unwrap();
    assert!(
        made.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{made}"
    );
    assert_eq!(
        hashers.check("pw", &made),
        Check {
            matches: true,
            must_update: false
        }
    );
    // The same digest under Django's prefix is Django's argon2 at other parameters.
    assert_eq!(
        hashers.check("pw", &format!("argon2{made}")),
        Check {
            matches: true,
            must_update: true
        }
    );
}

#[test]
fn a_list_without_bcrypt_refuses_bcrypt() {
    let file = file();
    let django = Hashers::django_default(1_000_000);
    for vector in file.vectors.iter().filter(|v| v.hasher == "bcrypt") {
        assert_eq!(
            django.check(&vector.password, &vector.encoded),
            Check {
                matches: false,
                must_update: false
            },
            "{}",
            vector.encoded
        );
        assert!(!django.must_update(&vector.encoded));
    }
}

#[test]
fn plain_bcrypt_refuses_passwords_over_72_bytes() {
    let file = file();
    let hashers = Hashers::new(vec![Algorithm::Bcrypt, Algorithm::BcryptSha256], 1).unwrap();
    let vector = file
        .vectors
        .iter()
        .find(|v| v.hasher == "bcrypt" && v.password == "correct horse battery staple")
        .unwrap();
    let long = "correct horse battery staple".repeat(3);
    assert!(long.len() > 72);
    assert!(!hashers.check(&long, &vector.encoded).matches);

    // bcrypt itself would see only the first 72 bytes and match; Django (pyca/bcrypt 5)
    // refuses instead, and so does this.
    let exactly_72 = "x".repeat(72);
    let encoded = hashers.make(&exactly_72).unwrap();
    assert!(hashers.check(&exactly_72, &encoded).matches);
    assert!(!hashers.check(&format!("{exactly_72}y"), &encoded).matches);
    assert!(hashers.make(&format!("{exactly_72}y")).is_err());

    // bcrypt_sha256 has no such limit.
    let sha256 = Hashers::new(vec![Algorithm::BcryptSha256], 1).unwrap();
    let encoded = sha256.make(&long).unwrap();
    assert!(sha256.check(&long, &encoded).matches);
    assert!(!sha256.check(&long[..72], &encoded).matches);
}

/// Every algorithm, md5 preferred so that the dummy verification each refusal costs is cheap.
fn all_cheap_first() -> Hashers {
    let mut list = vec![Algorithm::Md5];
    list.extend(Algorithm::ALL.into_iter().filter(|&a| a != Algorithm::Md5));
    Hashers::new(list, 1_000_000).unwrap()
}

#[test]
fn malformed_encodings_never_match() {
    let file = file();
    let by_hasher = |hasher: &str| {
        file.vectors
            .iter()
            .find(|v| v.hasher == hasher && v.password == "correct horse battery staple")
            .unwrap()
    };
    let pbkdf2 = by_hasher("pbkdf2_sha256");
    let argon2 = by_hasher("argon2");
    let bcrypt = by_hasher("bcrypt_sha256");
    let plain_bcrypt = by_hasher("bcrypt");
    let scrypt = by_hasher("scrypt");
    let md5 = by_hasher("md5");
    let password = "correct horse battery staple";
    let hashers = all_cheap_first();
    let jwtd = Hashers::new(vec![Algorithm::Argon2id], 1)
        .unwrap()
        .make(password)
        .unwrap();

    // Sanity: the originals match.
    for good in [
        &pbkdf2.encoded,
        &argon2.encoded,
        &bcrypt.encoded,
        &scrypt.encoded,
        &md5.encoded,
    ] {
        assert!(hashers.check(password, good).matches, "{good}");
    }
    assert!(hashers.check(password, &jwtd).matches);

    let truncate = |s: &str| s[..s.len() - 3].to_owned();
    let pbkdf2_fields: Vec<&str> = pbkdf2.encoded.split('$').collect();
    let pbkdf2_with = |iterations: &str| {
        format!(
            "pbkdf2_sha256${iterations}${}${}",
            pbkdf2_fields[2], pbkdf2_fields[3]
        )
    };
    let scrypt_fields: Vec<&str> = scrypt.encoded.split('$').collect();
    let scrypt_with = |n: &str, r: &str, p: &str| {
        format!(
            "scrypt${n}${}${r}${p}${}",
            scrypt_fields[2], scrypt_fields[5]
        )
    };
    let bcrypt_with_cost = |cost: &str| bcrypt.encoded.replacen("$12$", &format!("${cost}$"), 1);
    let argon2_with = |params: &str| argon2.encoded.replacen("m=102400,t=2,p=8", params, 1);

    let cases: Vec<(String, &str)> = vec![
        ("".into(), "empty"),
        ("$".into(), "a lone $"),
        ("$$$$".into(), "only separators"),
        ("!".into(), "unusable"),
        (
            format!("!{}", pbkdf2.encoded),
            "unusable prefix on a valid hash",
        ),
        ("pbkdf2_sha256$".into(), "prefix only"),
        ("pbkdf2_sha256$1000000$".into(), "no salt nor hash"),
        ("pbkdf2_sha256$1000000$salt".into(), "too few fields"),
        (format!("{}$extra", pbkdf2.encoded), "too many fields"),
        (truncate(&pbkdf2.encoded), "truncated pbkdf2"),
        (pbkdf2_with("0"), "0 iterations"),
        (pbkdf2_with("01000000"), "leading zero"),
        (pbkdf2_with("+1000000"), "signed"),
        (pbkdf2_with(" 1000000"), "space"),
        (pbkdf2_with("abc"), "non-numeric iterations"),
        (pbkdf2_with("-1"), "negative iterations"),
        (pbkdf2_with("10000001"), "iterations over the limit"),
        (pbkdf2_with("99999999999999999999"), "iterations over u64"),
        (
            format!("pbkdf2_sha256$1000000$${}", pbkdf2_fields[3]),
            "empty salt",
        ),
        (
            format!("pbkdf2_sha256$1000000${}$", pbkdf2_fields[2]),
            "empty hash",
        ),
        (
            pbkdf2.encoded.replacen('=', "", 1),
            "base64 without its padding",
        ),
        (format!("{}*", truncate(&pbkdf2.encoded)), "bad base64"),
        (
            pbkdf2.encoded.replacen("pbkdf2_sha256", "pbkdf2_sha1", 1),
            "sha256 digest under sha1",
        ),
        ("argon2".into(), "argon2 alone"),
        ("argon2$".into(), "argon2 and a separator"),
        (truncate(&argon2.encoded), "truncated argon2"),
        (
            argon2.encoded.replacen("argon2$", "", 1),
            "argon2 without its prefix",
        ),
        (
            argon2.encoded.replacen("$argon2id$", "$argon2i$", 1),
            "the right digest under the wrong variant",
        ),
        (
            argon2.encoded.replacen("$argon2id$", "$argon2x$", 1),
            "unknown variant",
        ),
        (argon2_with("m=102400,t=2"), "argon2 missing p"),
        (argon2_with("m=4294967295,t=2,p=8"), "argon2 4 TiB"),
        (argon2_with("m=2097152,t=1,p=8"), "argon2 2 GiB"),
        (
            argon2_with("m=1048576,t=5,p=8"),
            "argon2 over the work limit",
        ),
        (
            argon2_with("m=102400,t=4294967295,p=8"),
            "argon2 4 billion passes",
        ),
        (argon2_with("m=102400,t=0,p=8"), "argon2 0 passes"),
        (format!("{}!", argon2.encoded), "bad argon2 base64"),
        (
            jwtd.replacen("$argon2id$", "$argon2x$", 1),
            "unknown bare variant",
        ),
        (jwtd.replacen("$argon2id$", "$scrypt$", 1), "bare scrypt"),
        (
            jwtd.replacen("$argon2id$", "$argon2i$", 1),
            "bare: the right digest under the wrong variant",
        ),
        (truncate(&jwtd), "truncated bare argon2id"),
        ("bcrypt_sha256$".into(), "bcrypt_sha256 alone"),
        (truncate(&bcrypt.encoded), "truncated bcrypt"),
        (format!("{}A", bcrypt.encoded), "bcrypt too long"),
        (
            bcrypt.encoded.replacen("$$", "$", 1),
            "bcrypt_sha256 with one $",
        ),
        (bcrypt_with_cost("03"), "bcrypt cost 3"),
        (bcrypt_with_cost("32"), "bcrypt cost 32"),
        (bcrypt_with_cost("31"), "bcrypt cost 31 (over the limit)"),
        (bcrypt_with_cost("17"), "bcrypt cost 17 (over the limit)"),
        (bcrypt_with_cost("1a"), "bcrypt non-numeric cost"),
        (
            bcrypt.encoded.replacen("$2b$", "$2c$", 1),
            "bcrypt unknown version",
        ),
        (
            bcrypt.encoded.replacen("$2b$", "$3b$", 1),
            "bcrypt unknown version",
        ),
        (
            bcrypt.encoded.replacen("bcrypt_sha256$", "bcrypt$", 1),
            "bcrypt_sha256 digest as plain bcrypt",
        ),
        (
            plain_bcrypt
                .encoded
                .replacen("bcrypt$", "bcrypt_sha256$", 1),
            "plain bcrypt digest as bcrypt_sha256",
        ),
        (
            format!("{}*{}", &bcrypt.encoded[..21], &bcrypt.encoded[22..]),
            "bad bcrypt base64",
        ),
        (
            format!("{}é", &bcrypt.encoded[..bcrypt.encoded.len() - 2]),
            "non-ASCII bcrypt",
        ),
        ("scrypt$".into(), "scrypt alone"),
        (truncate(&scrypt.encoded), "truncated scrypt"),
        (
            format!("{}$x", scrypt.encoded),
            "scrypt with too many fields",
        ),
        (scrypt_with("16384", "8", "0"), "scrypt p=0"),
        (scrypt_with("0", "8", "5"), "scrypt N=0"),
        (scrypt_with("1", "8", "5"), "scrypt N=1"),
        (
            scrypt_with("16383", "8", "5"),
            "scrypt N not a power of two",
        ),
        (scrypt_with("16384", "0", "5"), "scrypt r=0"),
        (
            scrypt_with("32768", "8", "5"),
            "scrypt over OpenSSL's 32 MiB",
        ),
        (scrypt_with("1073741824", "8", "5"), "scrypt 1 TiB"),
        (
            scrypt_with("32768", "1", "200000"),
            "scrypt over the work limit",
        ),
        (scrypt_with("65536", "1", "1"), "scrypt N >= 2^(16r)"),
        (scrypt_with("16384", "8", "4294967295"), "scrypt huge p"),
        (
            scrypt_with("16384", "4294967295", "4294967295"),
            "scrypt huge r and p",
        ),
        (scrypt_with("16384", "x", "5"), "scrypt non-numeric r"),
        ("md5$".into(), "md5 alone"),
        (
            format!("md5$${}", &md5.encoded[27..]),
            "md5 empty salt (Django's unsalted md5)",
        ),
        (format!("md5$${}", &md5.encoded[28..]), "md5 empty salt"),
        (truncate(&md5.encoded), "truncated md5"),
        (
            format!("{}{}", &md5.encoded[..27], md5.encoded[27..].to_uppercase()),
            "uppercase hex",
        ),
        ("sha1$salt$hash".into(), "a hasher jwtd does not have"),
        ("5f4dcc3b5aa765d61d8327deb882cf99".into(), "unsalted md5"),
        ("x".repeat(limits::MAX_ENCODED_LEN + 1), "too long"),
        (
            format!(
                "pbkdf2_sha256$1000000${}${}",
                "s".repeat(limits::MAX_ENCODED_LEN),
                pbkdf2_fields[3]
            ),
            "too long salt",
        ),
    ];
    for (encoded, what) in &cases {
        let check = hashers.check(password, encoded);
        assert_eq!(
            check,
            Check {
                matches: false,
                must_update: false
            },
            "{what}: {encoded}"
        );
    }
}

#[test]
fn wrong_passwords_against_out_of_date_hashes_of_the_preferred_hasher() {
    // Django's harden_runtime runs here; the answer stays "no".
    let hashers = Hashers::new(vec![Algorithm::Pbkdf2Sha256], 2000).unwrap();
    let old = Hashers::new(vec![Algorithm::Pbkdf2Sha256], 1000)
        .unwrap()
        .make("pw")
        .unwrap();
    assert!(!hashers.check("wrong", &old).matches);
    assert_eq!(
        hashers.check("pw", &old),
        Check {
            matches: true,
            must_update: true
        }
    );
    let file = file();
    let bcrypt10 = file
        .vectors
        .iter()
        .find(|v| v.hasher == "bcrypt_sha256" && v.encoded.contains("$10$"))
        .unwrap();
    let bcrypt = Hashers::new(vec![Algorithm::BcryptSha256], 1).unwrap();
    assert!(
        !bcrypt
            .check(&bcrypt10.wrong_password, &bcrypt10.encoded)
            .matches
    );
}

#[test]
fn the_dummy_is_the_preferred_hashers_and_made_once() {
    let hashers = all_cheap_first();
    let dummy = hashers.dummy();
    assert_eq!(identify(&dummy), Identified::Algorithm(Algorithm::Md5));
    assert_eq!(hashers.clone().dummy(), dummy, "shared with clones");
    assert_eq!(hashers.dummy(), dummy, "made once");
    let jwtd = Hashers::jwtd_default();
    assert!(jwtd.dummy().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(!jwtd.check("anything", &jwtd.dummy()).matches);
}
