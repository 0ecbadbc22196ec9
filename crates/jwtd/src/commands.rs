//! One function per command. Errors carry context and end up as one line on stderr.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use jwtd_server::config::{self, Config, DatabaseSchema, DatabaseUrl, LogFormat, StoreConfig};
use jwtd_server::tokens::{self, RefreshError};
use jwtd_server::{Listeners, Passwords, Tls, app_state};
use jwtd_store::django::DjangoNames;
use jwtd_store::{NewUser, Store, StoreError, TokenRecord, User};
use jwtd_store_postgres::{DjangoPostgresStore, PostgresOptions, PostgresStore};
use jwtd_store_sqlite::{DjangoSqliteStore, SqliteStore};
use jwtd_token::{Algorithm, TokenEngine};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::{Cli, Command, KeysCommand, SessionCommand, TokenCommand, UserCommand};

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    if let Command::Keys(KeysCommand::Generate { algorithm, out }) = &cli.command {
        return generate_key(algorithm, out.as_deref()).map(|()| ExitCode::SUCCESS);
    }
    let (config, warnings) = config::load(cli.config.as_deref(), &config::process_env())?;
    init_logging(&config, matches!(cli.command, Command::Serve));
    for warning in warnings.into_iter().chain(config.exposed_key_files()) {
        tracing::warn!("{warning}");
    }
    match cli.command {
        Command::Serve => serve(config, cli.config.clone())
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Migrate => {
            open_store(&config).await?;
            if config.users.is_django() {
                println!(
                    "database_schema = \"django\": Django's tables are in place (jwtd never \
                     migrates them; manage.py migrate does)"
                );
            } else {
                println!("migrations applied");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::User(command) => user(&config, command).await.map(|()| ExitCode::SUCCESS),
        Command::Token(command) => token(&config, command).await,
        Command::Session(command) => session(&config, command).await.map(|()| ExitCode::SUCCESS),
        Command::Keys(command) => keys(&config, command).await.map(|()| ExitCode::SUCCESS),
        Command::FlushExpired => {
            let store = open_store(&config).await?;
            let flushed = store.flush_expired(jwtd_server::state::now()).await?;
            println!(
                "removed {} expired issued tokens and {} blacklist entries, \
                 {} expired sessions and deny-list entries",
                flushed.issued, flushed.blacklisted, flushed.sessions
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::CopyStore { to } => copy_store(&config, &DatabaseUrl::new(to))
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::ImportDjango {
            from,
            user_table,
            username_field,
        } => import_django(
            &config,
            &DatabaseUrl::new(from),
            user_table.as_deref(),
            username_field.as_deref(),
        )
        .await
        .map(|()| ExitCode::SUCCESS),
    }
}

fn init_logging(config: &Config, serving: bool) {
    // Commands other than serve speak on stdout; their logs are warnings only, on stderr.
    let level = if serving {
        config.log.level.as_str()
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a person at a terminal: a file, a pipe or journald gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// Opens the store named by `database_url`, in the configured schema, and applies migrations
/// (jwtd's schema) or checks Django's tables (Django's).
async fn open_store(config: &Config) -> Result<Arc<dyn Store>> {
    open_store_at(
        &config.store.database_url,
        &config.store,
        &config.users.schema,
    )
    .await
}

/// Opens the store at `database_url` in `schema` with the configured pool settings; jwtd's
/// schema is migrated.
async fn open_store_at(
    database_url: &DatabaseUrl,
    config: &StoreConfig,
    schema: &DatabaseSchema,
) -> Result<Arc<dyn Store>> {
    let url = database_url.expose();
    let options = PostgresOptions {
        pool_size: config.pool.pool_size,
        connect_timeout: config.pool.connect_timeout,
        ..PostgresOptions::default()
    };
    let sqlite_path = || {
        SqliteStore::path_from_url(url).ok_or_else(|| {
            anyhow!(
                "database_url: {} is not sqlite://PATH or postgres://...",
                database_url
            )
        })
    };
    let store: Arc<dyn Store> = match (schema, PostgresStore::accepts_url(url)) {
        (DatabaseSchema::Jwtd, true) => Arc::new(
            PostgresStore::connect(url, options)
                .with_context(|| format!("database_url {}", database_url))?,
        ),
        (DatabaseSchema::Jwtd, false) => {
            let path = sqlite_path()?;
            Arc::new(
                SqliteStore::open(&path).with_context(|| format!("database {}", path.display()))?,
            )
        }
        (DatabaseSchema::Django(names), true) => Arc::new(
            DjangoPostgresStore::connect(url, options, names)
                .await
                .with_context(|| format!("database_url {}", database_url))?,
        ),
        (DatabaseSchema::Django(names), false) => {
            let path = sqlite_path()?;
            Arc::new(
                DjangoSqliteStore::open(&path, names)
                    .with_context(|| format!("database {}", path.display()))?,
            )
        }
    };
    store
        .migrate()
        .await
        .with_context(|| format!("migrating {}", database_url))?;
    Ok(store)
}

/// `jwtd import-django`: a Django database's users and tokens, read in one consistent
/// snapshot, copied into the configured (jwtd-schema, empty) store in one transaction, then
/// read back and compared.
async fn import_django(
    config: &Config,
    from: &DatabaseUrl,
    user_table: Option<&str>,
    username_field: Option<&str>,
) -> Result<()> {
    if config.users.is_django() {
        bail!(
            "import-django copies into jwtd's own schema; this configuration has \
             database_schema = \"django\""
        );
    }
    let names = DjangoNames::new(
        user_table.unwrap_or("auth_user"),
        username_field.unwrap_or("username"),
        "id",
        None,
        "user_id",
    )
    .map_err(|e| anyhow!(e))?;
    let source = open_store_at(from, &config.store, &DatabaseSchema::Django(names)).await?;
    let target = open_store(config).await?;
    let snapshot = source
        .export()
        .await
        .with_context(|| format!("reading {from}"))?;
    target
        .import(&snapshot)
        .await
        .with_context(|| format!("writing {}", config.store.database_url))?;
    let copied = target
        .export()
        .await
        .with_context(|| format!("reading back {}", config.store.database_url))?;
    let same_users = copied.users.len() == snapshot.users.len()
        && copied.users.iter().zip(&snapshot.users).all(|(a, b)| {
            a.id == b.id
                && a.username == b.username
                && a.password_hash == b.password_hash
                && a.is_active == b.is_active
        });
    if !same_users
        || copied.issued.len() != snapshot.issued.len()
        || copied.blacklisted != snapshot.blacklisted
    {
        bail!("the imported data does not read back as it was read from {from}");
    }
    println!(
        "imported {} users, {} outstanding tokens, {} blacklisted tokens from {from}",
        snapshot.users.len(),
        snapshot.issued.len(),
        snapshot.blacklisted.len()
    );
    Ok(())
}

/// `jwtd copy-store`: a consistent snapshot of the configured store, written into an empty
/// target in one transaction, then read back and compared.
async fn copy_store(config: &Config, target_url: &DatabaseUrl) -> Result<()> {
    let source_url = &config.store.database_url;
    if target_url.expose() == source_url.expose() {
        bail!("--to names the configured database itself ({target_url})");
    }
    let source = open_store(config).await?;
    let target = open_store_at(target_url, &config.store, &DatabaseSchema::Jwtd).await?;
    let snapshot = source
        .export()
        .await
        .with_context(|| format!("reading {source_url}"))?;
    target
        .import(&snapshot)
        .await
        .with_context(|| format!("writing {target_url}"))?;
    let copied = target
        .export()
        .await
        .with_context(|| format!("reading back {target_url}"))?;
    if copied != snapshot {
        bail!(
            "the copy in {target_url} differs from {source_url} when read back; do not switch to it",
        );
    }
    println!(
        "copied {} users, {} issued tokens and {} blacklist entries from {source_url} to {target_url}",
        snapshot.users.len(),
        snapshot.issued.len(),
        snapshot.blacklisted.len(),
    );
    Ok(())
}

fn load_keys(config: &Config) -> Result<jwtd_token::KeySet> {
    Ok(config.load_keys(|path| {
        tracing::warn!(
            path = %path.display(),
            "no signing key configured: generated a random HS256 secret (mode 0600); it is reused on restart"
        );
    })?)
}

/// The token engine of `config`'s keys and policy: all a token command needs of the server.
fn token_engine(config: &Config) -> Result<TokenEngine> {
    Ok(TokenEngine::new(
        load_keys(config)?,
        config.tokens.policy.clone(),
    ))
}

async fn serve(config: Config, config_file: Option<std::path::PathBuf>) -> Result<()> {
    let store = open_store(&config).await?;
    let managed = managed_keys(&config, &store)?;
    let keys = match &managed {
        Some(managed) => managed
            .load(jwtd_server::state::now())
            .await
            .context("key_management = \"managed\": cannot load the key set")?,
        None => load_keys(&config)?,
    };
    let server = &config.server;
    let tls = server.tls.as_ref().map(Tls::load).transpose()?;
    let state = app_state(&config, store, keys)?;
    let api = std::net::TcpListener::bind(server.listen)
        .with_context(|| format!("listen: cannot bind {}", server.listen))?;
    let metrics = server
        .metrics_listen
        .map(|address| {
            std::net::TcpListener::bind(address)
                .with_context(|| format!("metrics_listen: cannot bind {address}"))
        })
        .transpose()?;
    let address = api.local_addr()?;
    tracing::info!(
        %address,
        tls = tls.is_some(),
        metrics = %server.metrics_listen.map_or_else(|| "on the main listener".to_owned(), |a| a.to_string()),
        algorithm = %config.keys.algorithm,
        database = %config.store.database_url,
        "jwtd listening"
    );
    if tls.is_none() && !address.ip().is_loopback() {
        tracing::warn!(
            %address,
            "serving plain HTTP on a non-loopback address: tokens and passwords cross the network \
             in clear text unless a TLS-terminating proxy is in front (set tls_cert_file and \
             tls_key_file to serve HTTPS)"
        );
    }
    match (managed, &config.keys.managed) {
        (Some(managed), Some(settings)) => {
            if settings.encryption_key.is_none() {
                tracing::warn!(
                    "key_management = \"managed\" without key_encryption_key: private keys are \
                     stored in the database in clear; set key_encryption_key (32 bytes or more)"
                );
            }
            let refresh = std::time::Duration::from_secs(settings.refresh_interval as u64);
            tokio::spawn(jwtd_server::managed_keys::keep_fresh(
                state.clone(),
                Arc::new(managed),
                refresh,
            ));
            tokio::spawn(reload_on_hangup(tls.clone(), None, config_file));
        }
        _ => {
            tokio::spawn(reload_on_hangup(
                tls.clone(),
                Some(state.clone()),
                config_file,
            ));
        }
    }
    jwtd_server::serve(
        Listeners { api, metrics },
        state,
        server.limits,
        tls,
        shutdown_signal(),
    )
    .await?;
    tracing::info!("jwtd stopped");
    Ok(())
}

/// `SIGHUP` reloads the TLS certificate and key, and the key set from the configuration file
/// and environment (`signing_key*`, `algorithm`, `[[keys]]`; other settings need a restart).
/// Whatever fails to load is refused with one log line and the old one stays in force.
async fn reload_on_hangup(
    tls: Option<Tls>,
    state: Option<jwtd_server::AppState>,
    config_file: Option<std::path::PathBuf>,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: certificate and key reload is off");
            return;
        };
        while hangups.recv().await.is_some() {
            // Managed keys are re-read from the database, not from the file.
            if let Some(state) = &state {
                reload_keys(state, config_file.as_deref());
            }
            let Some(tls) = &tls else {
                continue;
            };
            match tls.reload() {
                Ok(()) => tracing::info!("SIGHUP: reloaded the TLS certificate and key"),
                Err(e) => tracing::error!(
                    error = %e,
                    "SIGHUP: cannot reload the TLS certificate; still serving the previous one"
                ),
            }
        }
    }
    #[cfg(not(unix))]
    drop((tls, state, config_file));
}

/// Reads the key settings again and puts the new key set in force, or keeps the old one.
fn reload_keys(state: &jwtd_server::AppState, config_file: Option<&std::path::Path>) {
    let loaded = config::load(config_file, &config::process_env())
        .map_err(anyhow::Error::from)
        .and_then(|(config, _)| load_keys(&config).map(|keys| (config, keys)));
    match loaded {
        Ok((config, keys)) => {
            let kids: Vec<String> = keys
                .entries()
                .iter()
                .map(|e| format!("{}:{}", e.state(), e.kid()))
                .collect();
            if config.keys.algorithm != state.config().keys.algorithm
                || config.keys.jwks_max_age != state.config().keys.jwks_max_age
            {
                tracing::info!("SIGHUP: jwks_max_age and the reported algorithm change at restart");
            }
            state.replace_keys(keys);
            tracing::info!(keys = %kids.join(" "), "SIGHUP: reloaded the key set");
        }
        Err(e) => tracing::error!(
            error = %format!("{e:#}"),
            "SIGHUP: the new key set is refused; still signing and verifying with the previous one"
        ),
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

fn read_password() -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading the password from standard input")?;
    let password = text
        .strip_suffix('\n')
        .map(|p| p.strip_suffix('\r').unwrap_or(p))
        .unwrap_or(&text);
    if password.is_empty() {
        bail!("the password on standard input is empty");
    }
    Ok(password.to_owned())
}

/// Django's default username rule: letters, digits and @.+-_ only, 1 to 150 characters.
fn check_username(username: &str) -> Result<()> {
    let valid_chars = username
        .chars()
        .all(|c| c.is_alphanumeric() || "@.+-_".contains(c));
    if username.is_empty() || username.chars().count() > 150 || !valid_chars {
        bail!("username {username:?}: use 1 to 150 letters, digits and @ . + - _");
    }
    Ok(())
}

/// An email as Django's `EmailField` would take it, roughly: one `@` with text on both sides,
/// no spaces, at most 254 characters. (Deliverability is not jwtd's to judge.)
fn check_email(email: &str) -> Result<()> {
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if !valid {
        bail!("{email:?} is not an email address");
    }
    Ok(())
}

fn not_found(username: &str) -> impl FnOnce(StoreError) -> anyhow::Error + '_ {
    move |e| match e {
        StoreError::NotFound => anyhow!("no user named {username:?}"),
        other => other.into(),
    }
}

fn readable_time(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

/// The name of the hasher of a user's stored hash (`unusable`, `unknown`), never the hash.
fn password_hasher(user: &User) -> &'static str {
    match jwtd_password::identify(&user.password_hash) {
        jwtd_password::Identified::Algorithm(algorithm) => algorithm.name(),
        jwtd_password::Identified::Unusable => "unusable",
        jwtd_password::Identified::Unknown => "unknown",
    }
}

fn user_json(user: &User) -> Value {
    json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "is_active": user.is_active,
        "password_hasher": password_hasher(user),
        "date_joined": readable_time(user.date_joined),
        "last_login": user.last_login.map(readable_time),
    })
}

fn user_line(user: &User) -> String {
    format!(
        "{:>6}  {:<24} {:<8} {:<25} {}",
        user.id,
        user.username,
        if user.is_active { "active" } else { "inactive" },
        readable_time(user.date_joined),
        user.last_login
            .map_or_else(|| "never".to_owned(), readable_time)
    )
}

async fn user(config: &Config, command: UserCommand) -> Result<()> {
    let writes = !matches!(command, UserCommand::List { .. } | UserCommand::Show { .. });
    if writes && config.users.is_django() {
        // Before a password is read: the store would refuse anyway.
        return Err(jwtd_store::django::users_are_djangos().into());
    }
    let store = open_store(config).await?;
    let passwords = || Passwords::with_hashers(1, config.users.hashers.clone());
    let now = jwtd_server::state::now();
    match command {
        UserCommand::Create {
            username,
            password_stdin: _,
            inactive,
            email,
        } => {
            check_username(&username)?;
            if let Some(email) = &email {
                check_email(email)?;
            }
            let password = read_password()?;
            let hash = passwords()?.hash(password).await?;
            let user = store
                .create_user(NewUser {
                    username,
                    password_hash: hash,
                    is_active: !inactive,
                    date_joined: now,
                    email,
                })
                .await?;
            println!("{}", user.id);
        }
        UserCommand::SetPassword {
            username,
            password_stdin: _,
        } => {
            let user = user_named(store.as_ref(), &username).await?;
            let password = read_password()?;
            let hash = passwords()?.hash(password).await?;
            // The new password and the revocation of every session and access token, in one
            // write.
            store
                .change_password(user.id, &hash, now)
                .await
                .map_err(not_found(&username))?;
        }
        UserCommand::Activate { username } => store
            .set_active(&username, true)
            .await
            .map_err(not_found(&username))?,
        UserCommand::Deactivate { username } => {
            store
                .set_active(&username, false)
                .await
                .map_err(not_found(&username))?;
            // Inactive users are refused anyway; this also keeps their old tokens dead if they
            // are activated again.
            let user = user_named(store.as_ref(), &username).await?;
            store.end_all_sessions(user.id, now).await?;
        }
        UserCommand::Delete { username } => store
            .delete_user(&username)
            .await
            .map_err(not_found(&username))?,
        UserCommand::List { json } => {
            let users = store.list_users().await?;
            if json {
                let list: Vec<Value> = users.iter().map(user_json).collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!(
                    "{:>6}  {:<24} {:<8} {:<25} LAST LOGIN",
                    "ID", "USERNAME", "STATUS", "JOINED"
                );
                for user in &users {
                    println!("{}", user_line(user));
                }
            }
        }
        UserCommand::Show { username, json } => {
            let user = store
                .user_by_username(&username)
                .await?
                .ok_or_else(|| anyhow!("no user named {username:?}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&user_json(&user))?);
            } else {
                println!("id:          {}", user.id);
                println!("username:    {}", user.username);
                if let Some(email) = &user.email {
                    println!("email:       {email}");
                }
                println!("is_active:   {}", user.is_active);
                println!("password:    {}", password_hasher(&user));
                println!("date_joined: {}", readable_time(user.date_joined));
                println!(
                    "last_login:  {}",
                    user.last_login
                        .map_or_else(|| "never".to_owned(), readable_time)
                );
            }
        }
    }
    Ok(())
}

/// The user named `username`, or an error saying there is none.
async fn user_named(store: &dyn jwtd_store::Store, username: &str) -> Result<User> {
    store
        .user_by_username(username)
        .await?
        .ok_or_else(|| anyhow!("no user named {username:?}"))
}

fn session_json(session: &jwtd_store::Session) -> Value {
    json!({
        "id": session.id,
        "created_at": readable_time(session.created_at),
        "last_used_at": readable_time(session.last_used_at),
        "expires_at": readable_time(session.expires_at),
        "user_agent": session.user_agent,
        "ip": session.ip,
    })
}

async fn session(config: &Config, command: SessionCommand) -> Result<()> {
    let store = open_store(config).await?;
    let now = jwtd_server::state::now();
    match command {
        SessionCommand::List { username, json } => {
            let user = user_named(store.as_ref(), &username).await?;
            let sessions = store.sessions(user.id, now).await?;
            if json {
                let list: Vec<Value> = sessions.iter().map(session_json).collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!(
                    "{:<32}  {:<25} {:<25} {:<25} {:<15} USER AGENT",
                    "ID", "STARTED", "LAST USED", "EXPIRES", "IP"
                );
                for session in &sessions {
                    println!(
                        "{:<32}  {:<25} {:<25} {:<25} {:<15} {}",
                        session.id,
                        readable_time(session.created_at),
                        readable_time(session.last_used_at),
                        readable_time(session.expires_at),
                        session.ip.as_deref().unwrap_or("-"),
                        session.user_agent.as_deref().unwrap_or("-"),
                    );
                }
            }
        }
        SessionCommand::Revoke { session_id } => {
            if !store.end_session(&session_id, None, now).await? {
                bail!("no live session {session_id:?}");
            }
        }
        SessionCommand::RevokeAll { username } => {
            let user = user_named(store.as_ref(), &username).await?;
            let ended = store.end_all_sessions(user.id, now).await?;
            println!("{ended} sessions ended; access tokens issued until now are refused");
        }
    }
    Ok(())
}

/// The managed key set of `config`'s store, when `key_management = "managed"`.
fn managed_keys(
    config: &Config,
    store: &Arc<dyn jwtd_store::Store>,
) -> Result<Option<jwtd_server::managed_keys::ManagedKeys>> {
    let Some(settings) = &config.keys.managed else {
        return Ok(None);
    };
    if config.users.is_django() {
        bail!(
            "key_management = \"managed\" keeps keys in jwtd's own tables; with \
             database_schema = \"django\" use static keys"
        );
    }
    let policy = &config.tokens.policy;
    let window = policy.refresh_lifetime.max(policy.sliding_refresh_lifetime);
    Ok(Some(jwtd_server::managed_keys::ManagedKeys::new(
        store.clone(),
        config.keys.algorithm,
        settings.encryption_key()?.as_ref(),
        window,
        settings.rotation_interval,
        config.keys.jwks_max_age as i64,
    )))
}

/// `jwtd keys list|rotate|add|retire|remove`.
async fn keys(config: &Config, command: KeysCommand) -> Result<()> {
    let now = jwtd_server::state::now();
    if config.keys.managed.is_none() {
        if let KeysCommand::List { json } = command {
            let set = load_keys(config)?;
            let rows: Vec<Value> = set
                .entries()
                .iter()
                .map(|e| {
                    json!({
                        "kid": e.kid(),
                        "algorithm": e.keys().algorithm().as_str(),
                        "state": e.state().as_str(),
                    })
                })
                .collect();
            return print_keys(&rows, json);
        }
        bail!(
            "key_management is \"static\": the keys are the configuration's (signing_key_file \
             and [[keys]]); edit it and send SIGHUP to the server"
        );
    }
    let store = open_store(config).await?;
    let managed = managed_keys(config, &store)?.expect("managed");
    match command {
        KeysCommand::List { json } => {
            managed.load(now).await?;
            let rows: Vec<Value> = managed
                .list()
                .await?
                .into_iter()
                .map(|k| serde_json::to_value(k).unwrap_or_default())
                .collect();
            print_keys(&rows, json)
        }
        KeysCommand::Rotate { algorithm, force } => {
            let algorithm = algorithm.map(|a| a.parse::<Algorithm>()).transpose()?;
            managed.load(now).await?;
            match managed.rotate(now, algorithm, force).await? {
                Some(kid) => {
                    println!("rotated: {kid} is the active key");
                    Ok(())
                }
                None => bail!("the key set changed meanwhile (another rotation?); nothing done"),
            }
        }
        KeysCommand::Add {
            file,
            jwk,
            algorithm,
            state,
        } => {
            let state: jwtd_store::StoredKeyState = state.parse()?;
            let algorithm = algorithm.map(|a| a.parse::<Algorithm>()).transpose()?;
            let (keys, material) = match (file, jwk) {
                (Some(path), None) => {
                    let bytes = std::fs::read(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    let alg = algorithm.unwrap_or(config.keys.algorithm);
                    (jwtd_token::Keys::new(alg, &bytes, None)?, bytes)
                }
                (None, Some(path)) => {
                    let bytes = std::fs::read(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    let value: Value = serde_json::from_slice(&bytes)
                        .with_context(|| format!("{} is not JSON", path.display()))?;
                    let keys = jwtd_token::Keys::from_jwk(&value, algorithm)?;
                    if !keys.can_sign() {
                        bail!(
                            "{} is a public JWK: a managed key must be able to sign",
                            path.display()
                        );
                    }
                    (keys, bytes)
                }
                _ => bail!("give --file or --jwk"),
            };
            managed.load(now).await?;
            let kid = managed.add(keys, material, state, now).await?;
            println!("added {kid} as {state}");
            Ok(())
        }
        KeysCommand::Retire { kid } => {
            managed.retire_or_remove(&kid, false, false, now).await?;
            println!("retired {kid}");
            Ok(())
        }
        KeysCommand::Remove { kid, force } => {
            managed.retire_or_remove(&kid, true, force, now).await?;
            println!("removed {kid}");
            Ok(())
        }
        KeysCommand::Generate { .. } => unreachable!("handled before the configuration"),
    }
}

fn print_keys(rows: &[Value], json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(rows)?);
        return Ok(());
    }
    println!(
        "{:<44} {:<7} {:<8} {:<20} {:<20} {:<20} {:<20}",
        "KID", "ALG", "STATE", "CREATED", "ACTIVATED", "RETIRED", "EXPIRES"
    );
    let time = |v: &Value| v.as_i64().map_or_else(|| "-".to_owned(), readable_time);
    for row in rows {
        println!(
            "{:<44} {:<7} {:<8} {:<20} {:<20} {:<20} {:<20}",
            row["kid"].as_str().unwrap_or("-"),
            row["algorithm"].as_str().unwrap_or("-"),
            row["state"].as_str().unwrap_or("-"),
            time(&row["created"]),
            time(&row["activated"]),
            time(&row["retired"]),
            time(&row["expires"]),
        );
    }
    Ok(())
}

fn generate_key(algorithm: &str, out: Option<&Path>) -> Result<()> {
    let algorithm: Algorithm = algorithm.parse()?;
    let material = jwtd_token::generate(algorithm)?;
    match out {
        None => println!("{material}"),
        Some(path) => {
            config::write_new_private_file(path, material.as_bytes())
                .with_context(|| format!("cannot create {}", path.display()))?;
            eprintln!("wrote a {algorithm} key to {}", path.display());
        }
    }
    Ok(())
}

async fn token(config: &Config, command: TokenCommand) -> Result<ExitCode> {
    match command {
        TokenCommand::Decode { token } => {
            let (header, claims) =
                jwtd_token::dangerous_decode_unverified(&token).map_err(|_| {
                    anyhow!("not a compact JWS (three base64url parts with JSON header and claims)")
                })?;
            let mut times = serde_json::Map::new();
            for claim in ["exp", "iat", "nbf", "refresh_exp"] {
                if let Some(t) = claims.get(claim).and_then(Value::as_f64) {
                    times.insert(claim.to_owned(), Value::String(readable_time(t as i64)));
                }
            }
            eprintln!(
                "warning: UNVERIFIED: the signature and claims of this token were not checked"
            );
            let shown =
                json!({ "verified": false, "header": header, "claims": claims, "times": times });
            println!("{}", serde_json::to_string_pretty(&shown)?);
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Issue { username } => {
            let store = open_store(config).await?;
            let user = store
                .user_by_username(&username)
                .await?
                .ok_or_else(|| anyhow!("no user named {username:?}"))?;
            if !user.is_active {
                bail!("user {username:?} is inactive");
            }
            let engine = token_engine(config)?;
            let subject = tokens::subject_of(&config.users, store.as_ref(), &user).await?;
            let pair = engine.issue_pair_for(&subject, jwtd_server::state::now())?;
            let refresh = &pair.refresh;
            store
                .record_issued(&TokenRecord {
                    jti: refresh.jti.clone(),
                    user_id: Some(user.id),
                    issued_at: refresh.issued_at,
                    expires_at: refresh.expires_at,
                    token: refresh.token.clone(),
                })
                .await?;
            println!(
                "{}",
                json!({ "refresh": pair.refresh.token, "access": pair.access.token })
            );
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Verify { token } => {
            let store = open_store(config).await?;
            let engine = token_engine(config)?;
            let now = jwtd_server::state::now();
            match tokens::check_token(&engine, store.as_ref(), token.trim(), now).await {
                Ok(()) => {
                    println!("valid");
                    Ok(ExitCode::SUCCESS)
                }
                Err(RefreshError::Token(reason)) => {
                    eprintln!("invalid: {reason}");
                    Ok(ExitCode::from(1))
                }
                Err(other) => Err(anyhow!("cannot verify: {other}")),
            }
        }
    }
}
