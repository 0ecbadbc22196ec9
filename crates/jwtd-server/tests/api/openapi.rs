//! `GET /api/openapi.json` (`shared/spec/browser.md`, "API description"): an OpenAPI 3.1
//! document of every route, generated from the code (`src/openapi.rs` and the handlers'
//! `#[utoipa::path]`s).
//!
//! What is checked:
//! - it is served, public, as JSON, with and without the trailing slash, and says `3.1.x`;
//! - its `paths` are exactly the router's: `jwtd_server::router::route_paths()` reads the same
//!   route tables `router()` builds its routes from, so a route added without documentation (or
//!   documentation of a path the router does not serve) fails here;
//! - every documented operation is served as documented: a live request for each one, whose
//!   status must be documented for it, whose JSON body must validate against the documented
//!   schema of that status (JSON Schema 2020-12, OpenAPI 3.1's dialect, with the `jsonschema`
//!   crate), and whose documented headers (except the conditional `Set-Cookie` and
//!   `Retry-After`) are sent;
//! - it parses as OpenAPI 3.1 with `oas3` (its typed model of every object, so a field of the
//!   wrong type or shape fails) and `oas3` accepts its version;
//! - every `$ref` resolves: as a JSON pointer inside the document (no external references), and
//!   through `oas3`'s typed resolution for request bodies, responses, parameters and schemas;
//! - structure: each operation has an `operationId` (unique), declared tags, responses with at
//!   least one 2xx, and a description on each response; each `{param}` of a path is declared
//!   `in: path, required: true`, and no other path parameter is; each security requirement names
//!   a declared scheme;
//! - every schema is valid JSON Schema 2020-12 (the meta-schema), and every example (of a schema,
//!   a request body or a response) validates against its schema;
//! - where Python's `openapi-spec-validator` is installed (`pip install openapi-spec-validator`;
//!   `.ci/run` does not install it), the document validates against the official OpenAPI 3.1
//!   JSON Schema too; elsewhere that one check is skipped, with a note on standard error.
//!
//! Not checked: that descriptions are accurate, that every error a handler can return is listed
//! (the live requests cover one or more answers of each operation, not all of them), and, where
//! the Python validator is missing, the OpenAPI meta-schema's finer rules (`oas3` does not
//! check, e.g., that a response has a `description` or that component names match
//! `^[a-zA-Z0-9._-]+$`; the structural checks here cover the first).

use std::collections::{BTreeMap, BTreeSet};

use jwtd_token::Algorithm;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const INTROSPECTION_SECRET: &str = "introspection-secret-0123456789abcdefghijkl";

async fn document_of<S>(app: &TestApp<S>) -> Value {
    let reply = app.get("/api/openapi.json").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    serde_json::from_str(&reply.body).expect("the document is JSON")
}

/// A path as a JSON pointer segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Every operation of the document: (path, lower-case method, operation).
fn operations(document: &Value) -> Vec<(String, String, &Value)> {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push((path.clone(), method.to_owned(), operation));
            }
        }
    }
    found
}

#[tokio::test]
async fn the_document_is_served_publicly_as_openapi_3_1_json_with_and_without_the_slash() {
    let app = spawn_app(&[]).await;
    let reply = app.get("/api/openapi.json").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let content_type = reply.header("content-type").expect("a Content-Type");
    assert!(
        content_type.starts_with("application/json"),
        "Content-Type: {content_type}"
    );
    let document: Value = serde_json::from_str(&reply.body).expect("JSON");
    let version = document["openapi"].as_str().expect("an `openapi` string");
    assert!(version.starts_with("3.1"), "openapi: {version}");
    assert_eq!(document["info"]["title"], "jwtd");

    let twin = app.get("/api/openapi.json/").await;
    assert_eq!(twin.status, 200, "{}", twin.body);
    assert_eq!(twin.body, reply.body);
}

#[tokio::test]
async fn every_route_of_the_router_is_documented_and_nothing_else() {
    let app = spawn_app(&[]).await;
    let document = document_of(&app).await;
    // axum 0.8 writes path parameters as OpenAPI does (`{id}`); a catch-all `{*rest}` would be
    // OpenAPI's `{rest}`.
    let routes: Vec<String> = jwtd_server::router::route_paths()
        .into_iter()
        .map(|path| path.replace("{*", "{"))
        .collect();
    let served: BTreeSet<&str> = routes.iter().map(String::as_str).collect();
    assert_eq!(
        served.len(),
        routes.len(),
        "a route listed twice: {routes:?}"
    );
    let documented: BTreeSet<&str> = document["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "routes without documentation (add `#[utoipa::path]` to the handler and list it in \
         `openapi::ApiDoc`): {undocumented:?}; documented paths the router does not serve: \
         {unserved:?}"
    );
}

/// Live requests, each checked against the document.
struct Checker<'a> {
    app: &'a TestApp,
    document: &'a Value,
    /// Operations exercised so far: (path, method).
    covered: BTreeSet<(String, String)>,
    failures: Vec<String>,
}

impl Checker<'_> {
    /// Sends `method path` (the concrete form of the documented `template`) and checks the
    /// answer against the document: its status is `status` and documented, its body matches the
    /// documented content, its documented headers are there. Returns the body.
    async fn check(
        &mut self,
        method: Method,
        template: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
        status: u16,
    ) -> Value {
        let case = format!("{method} {path} → {status}");
        let reply = self.app.send(method.clone(), path, headers, body).await;
        let method = method.as_str().to_ascii_lowercase();
        self.covered.insert((template.to_owned(), method.clone()));
        if reply.status != status {
            self.failures
                .push(format!("{case}: answered {} {}", reply.status, reply.body));
            return Value::Null;
        }
        let operation = format!("/paths/{}/{method}", escape(template));
        if self.document.pointer(&operation).is_none() {
            self.failures
                .push(format!("{case}: operation not documented"));
            return Value::Null;
        }
        let Some(response) =
            resolved_pointer(self.document, &format!("{operation}/responses/{status}"))
        else {
            self.failures.push(format!("{case}: status not documented"));
            return Value::Null;
        };
        let documented = &self.document.pointer(&response).expect("resolved")["content"];
        let content_type = reply.header("content-type").unwrap_or_default();
        let mut parsed = Value::Null;
        match documented.as_object() {
            None => {
                if !reply.body.is_empty() {
                    self.failures.push(format!(
                        "{case}: documented without content, answered {:?}",
                        reply.body
                    ));
                }
            }
            Some(media) if media.contains_key("application/json") => {
                if !content_type.starts_with("application/json") {
                    self.failures
                        .push(format!("{case}: Content-Type {content_type}"));
                }
                parsed = match serde_json::from_str(&reply.body) {
                    Ok(parsed) => parsed,
                    Err(e) => {
                        self.failures.push(format!("{case}: not JSON ({e})"));
                        return Value::Null;
                    }
                };
                let schema = format!("{response}/content/application~1json/schema");
                for error in schema_errors(self.document, &schema, &parsed) {
                    self.failures
                        .push(format!("{case}: {} does not match: {error}", reply.body));
                }
            }
            Some(media) => {
                if !media.contains_key(content_type) {
                    self.failures.push(format!(
                        "{case}: Content-Type {content_type} is not among {:?}",
                        media.keys().collect::<Vec<_>>()
                    ));
                }
            }
        }
        let headers = &self.document.pointer(&response).expect("resolved")["headers"];
        for name in headers
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, _)| name)
        {
            let conditional =
                ["set-cookie", "retry-after"].contains(&name.to_ascii_lowercase().as_str());
            if !conditional && reply.header(name).is_none() {
                self.failures
                    .push(format!("{case}: documented header {name} not sent"));
            }
        }
        parsed
    }
}

/// The JSON pointer of the object at `pointer`, following a `$ref` there.
fn resolved_pointer(document: &Value, pointer: &str) -> Option<String> {
    let object = document.pointer(pointer)?;
    match object.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let target = reference.strip_prefix('#')?;
            document.pointer(target).map(|_| target.to_owned())
        }
        None => Some(pointer.to_owned()),
    }
}

/// Why `instance` does not match the schema at `pointer` in `document` (JSON Schema 2020-12,
/// with `$ref`s resolved inside the document).
fn schema_errors(document: &Value, pointer: &str, instance: &Value) -> Vec<String> {
    // The document itself as the root schema, reduced to a `$ref` to the schema wanted: its
    // other members are no JSON Schema keywords, and `#/components/...` references resolve
    // against it.
    let mut root = document.clone();
    root["$ref"] = Value::String(format!("#{}", uri_fragment(pointer)));
    let validator = match jsonschema::draft202012::new(&root) {
        Ok(validator) => validator,
        Err(e) => return vec![format!("the schema at {pointer} does not compile: {e}")],
    };
    validator
        .iter_errors(instance)
        .map(|error| format!("{error} (at {:?})", error.instance_path().to_string()))
        .collect()
}

/// A JSON pointer as a URI fragment (RFC 6901, section 6): percent-encoded outside RFC 3986's
/// fragment characters (a media type's `; charset=...` has a space).
fn uri_fragment(pointer: &str) -> String {
    pointer
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn every_documented_operation_is_served_as_documented() {
    let signing_key = jwtd_token::generate(Algorithm::ES256).expect("an ES256 key");
    let app = spawn_app(&[
        ("JWTD_ALGORITHM", "ES256"),
        ("JWTD_SIGNING_KEY", &signing_key),
        ("JWTD_ISSUER", "https://auth.example.com"),
        ("JWTD_PUBLIC_URL", "https://auth.example.com/"),
        ("JWTD_INTROSPECTION_TOKEN", INTROSPECTION_SECRET),
    ])
    .await;
    app.create_user("alice", PASSWORD, true).await;
    let document = document_of(&app).await;
    let mut c = Checker {
        app: &app,
        document: &document,
        covered: BTreeSet::new(),
        failures: Vec::new(),
    };
    let json_type = [("Content-Type", "application/json")];
    let json_body = |value: Value| Some(serde_json::to_vec(&value).expect("JSON"));
    let credentials = json!({ "username": "alice", "password": PASSWORD });
    let post = Method::POST;
    let get = Method::GET;

    // Tokens.
    let pair = c
        .check(
            post.clone(),
            "/api/token/",
            "/api/token/",
            &json_type,
            json_body(credentials.clone()),
            200,
        )
        .await;
    let refresh = pair["refresh"].as_str().unwrap_or_default().to_owned();
    let access = pair["access"].as_str().unwrap_or_default().to_owned();
    let bearer = format!("Bearer {access}");
    let auth = [("Authorization", bearer.as_str())];
    let wrong = json!({ "username": "alice", "password": "wrong" });
    c.check(
        post.clone(),
        "/api/token/",
        "/api/token/",
        &json_type,
        json_body(wrong),
        401,
    )
    .await;
    c.check(
        post.clone(),
        "/api/token/",
        "/api/token",
        &json_type,
        json_body(json!({})),
        400,
    )
    .await;
    c.check(
        post.clone(),
        "/api/token/",
        "/api/token/",
        &json_type,
        Some(b"{".to_vec()),
        400,
    )
    .await;
    c.check(
        post.clone(),
        "/api/token/",
        "/api/token/",
        &[("Content-Type", "text/plain")],
        Some(b"x".to_vec()),
        415,
    )
    .await;
    let huge = json!({ "username": "a".repeat(70 * 1024), "password": "x" });
    c.check(
        post.clone(),
        "/api/token/",
        "/api/token/",
        &json_type,
        json_body(huge),
        413,
    )
    .await;
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let form_body = format!("refresh={refresh}").into_bytes();
    c.check(
        post.clone(),
        "/api/token/refresh/",
        "/api/token/refresh/",
        &form,
        Some(form_body),
        200,
    )
    .await;
    let garbage = json!({ "refresh": "garbage" });
    c.check(
        post.clone(),
        "/api/token/refresh/",
        "/api/token/refresh/",
        &json_type,
        json_body(garbage),
        401,
    )
    .await;
    let token = |token: &str| json_body(json!({ "token": token }));
    c.check(
        post.clone(),
        "/api/token/verify/",
        "/api/token/verify/",
        &json_type,
        token(&access),
        200,
    )
    .await;
    c.check(
        post.clone(),
        "/api/token/verify/",
        "/api/token/verify/",
        &json_type,
        token("garbage"),
        401,
    )
    .await;
    let sliding = c
        .check(
            post.clone(),
            "/api/token/sliding/",
            "/api/token/sliding/",
            &json_type,
            json_body(credentials.clone()),
            200,
        )
        .await;
    let sliding = sliding["token"].as_str().unwrap_or_default().to_owned();
    c.check(
        post.clone(),
        "/api/token/sliding/refresh/",
        "/api/token/sliding/refresh/",
        &json_type,
        token(&sliding),
        200,
    )
    .await;
    c.check(
        post.clone(),
        "/api/token/revoke/",
        "/api/token/revoke/",
        &json_type,
        token("garbage"),
        200,
    )
    .await;
    c.check(
        post.clone(),
        "/api/token/revoke/",
        "/api/token/revoke/",
        &json_type,
        json_body(json!({})),
        400,
    )
    .await;
    let secret = format!("Bearer {INTROSPECTION_SECRET}");
    let introspector = [
        ("Content-Type", "application/json"),
        ("Authorization", secret.as_str()),
    ];
    let active = c
        .check(
            post.clone(),
            "/api/token/introspect/",
            "/api/token/introspect/",
            &introspector,
            token(&refresh),
            200,
        )
        .await;
    assert_eq!(active["active"], true, "{active}");
    c.check(
        post.clone(),
        "/api/token/introspect/",
        "/api/token/introspect/",
        &introspector,
        token("garbage"),
        200,
    )
    .await;
    c.check(
        post.clone(),
        "/api/token/introspect/",
        "/api/token/introspect/",
        &json_type,
        token(&refresh),
        401,
    )
    .await;

    // Protected views and forward-auth.
    c.check(get.clone(), "/hello/", "/hello/", &auth, None, 200)
        .await;
    c.check(get.clone(), "/hello/", "/hello/", &[], None, 401)
        .await;
    c.check(
        get.clone(),
        "/hello/",
        "/hello",
        &[("Authorization", "Bearer garbage")],
        None,
        401,
    )
    .await;
    c.check(get.clone(), "/api/me/", "/api/me/", &auth, None, 200)
        .await;
    c.check(get.clone(), "/ping/", "/ping/", &[], None, 200)
        .await;
    c.check(
        get.clone(),
        "/api/auth/check/",
        "/api/auth/check",
        &auth,
        None,
        200,
    )
    .await;
    c.check(
        get.clone(),
        "/api/auth/check/",
        "/api/auth/check/",
        &[],
        None,
        401,
    )
    .await;

    // Sessions and the password.
    c.check(
        Method::DELETE,
        "/api/sessions/{id}/",
        "/api/sessions/nope/",
        &auth,
        None,
        404,
    )
    .await;
    let wrong_old = json!({ "old_password": "wrong", "new_password": "a much better passphrase" });
    c.check(
        post.clone(),
        "/api/password/change/",
        "/api/password/change/",
        &[auth[0], json_type[0]],
        json_body(wrong_old),
        400,
    )
    .await;
    let change = json!({ "old_password": PASSWORD, "new_password": "a much better passphrase" });
    let changed = c
        .check(
            post.clone(),
            "/api/password/change/",
            "/api/password/change/",
            &[auth[0], json_type[0]],
            json_body(change),
            200,
        )
        .await;
    let bearer = format!("Bearer {}", changed["access"].as_str().unwrap_or_default());
    let auth = [("Authorization", bearer.as_str())];
    let sessions = c
        .check(
            get.clone(),
            "/api/sessions/",
            "/api/sessions/",
            &auth,
            None,
            200,
        )
        .await;
    let session = sessions[0]["id"].as_str().unwrap_or("missing").to_owned();
    c.check(
        Method::DELETE,
        "/api/sessions/{id}/",
        &format!("/api/sessions/{session}/"),
        &auth,
        None,
        204,
    )
    .await;
    let again = json!({ "username": "alice", "password": "a much better passphrase" });
    let pair = c
        .check(
            post.clone(),
            "/api/token/",
            "/api/token/",
            &json_type,
            json_body(again),
            200,
        )
        .await;
    let refresh = pair["refresh"].as_str().unwrap_or_default().to_owned();
    let bearer = format!("Bearer {}", pair["access"].as_str().unwrap_or_default());
    let auth = [("Authorization", bearer.as_str())];
    c.check(
        post.clone(),
        "/api/sessions/logout-all/",
        "/api/sessions/logout-all/",
        &auth,
        None,
        204,
    )
    .await;
    c.check(
        get.clone(),
        "/api/sessions/",
        "/api/sessions/",
        &auth,
        None,
        401,
    )
    .await;
    c.check(
        post.clone(),
        "/api/token/blacklist/",
        "/api/token/blacklist/",
        &json_type,
        json_body(json!({ "refresh": refresh })),
        401,
    )
    .await;
    let pair = c
        .check(
            post.clone(),
            "/api/token/",
            "/api/token/",
            &json_type,
            json_body(json!({ "username": "alice", "password": "a much better passphrase" })),
            200,
        )
        .await;
    let refresh = pair["refresh"].as_str().unwrap_or_default().to_owned();
    c.check(
        post.clone(),
        "/api/token/blacklist/",
        "/api/token/blacklist/",
        &json_type,
        json_body(json!({ "refresh": refresh })),
        200,
    )
    .await;

    // Operations, keys, this document.
    for path in [
        "/api/openapi.json",
        "/healthz",
        "/readyz",
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
        "/metrics",
    ] {
        let body = c.check(get.clone(), path, path, &[], None, 200).await;
        if path == "/.well-known/jwks.json" {
            assert_eq!(body["keys"].as_array().map(Vec::len), Some(1), "{body}");
        }
    }

    let documented: BTreeSet<(String, String)> = operations(&document)
        .into_iter()
        .map(|(path, method, _)| (path, method))
        .collect();
    let unexercised: Vec<_> = documented.difference(&c.covered).collect();
    assert!(
        unexercised.is_empty(),
        "documented operations this test does not request: {unexercised:?}"
    );
    assert!(c.failures.is_empty(), "{}", c.failures.join("\n"));
}

#[tokio::test]
async fn the_document_validates() {
    let app = spawn_app(&[]).await;
    let document = document_of(&app).await;
    let text = serde_json::to_string(&document).expect("serializes");
    let mut failures = Vec::new();

    // oas3: the typed OpenAPI 3.1 model, and its version check.
    let spec = oas3::from_json(&text).expect("oas3 parses the document as OpenAPI 3.1");
    let version = spec.validate_version().expect("oas3 accepts the version");
    assert_eq!((version.major, version.minor), (3, 1));

    // Every `$ref` resolves inside the document.
    let mut references = Vec::new();
    collect_references(&document, "", &mut references);
    assert!(!references.is_empty(), "no `$ref` at all: suspicious");
    for (at, reference) in &references {
        match reference.strip_prefix('#') {
            Some(pointer) if document.pointer(pointer).is_some() => {}
            _ => failures.push(format!("{at}: $ref {reference:?} does not resolve")),
        }
    }

    // And through oas3's typed resolution.
    for (path, method, operation) in spec.operations() {
        let case = format!("{method} {path}");
        if let Err(e) = operation.request_body(&spec) {
            failures.push(format!("{case}: request body: {e}"));
        }
        for (status, response) in operation.responses.iter().flatten() {
            match response.resolve(&spec) {
                Ok(response) => {
                    for (media, content) in &response.content {
                        if let Some(schema) = &content.schema
                            && let Err(e) = schema.resolve(&spec)
                        {
                            failures.push(format!("{case} {status} {media}: schema: {e}"));
                        }
                    }
                }
                Err(e) => failures.push(format!("{case} {status}: {e}")),
            }
        }
        for parameter in &operation.parameters {
            if let Err(e) = parameter.resolve(&spec) {
                failures.push(format!("{case}: parameter: {e}"));
            }
        }
    }

    // Structure.
    let schemes: BTreeSet<&str> = document["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes")
        .keys()
        .map(String::as_str)
        .collect();
    for expected in [
        "access_token",
        "introspection_token",
        "refresh_cookie",
        "csrf_token",
    ] {
        assert!(schemes.contains(expected), "no security scheme {expected}");
    }
    assert_eq!(
        document["components"]["securitySchemes"]["refresh_cookie"]["in"],
        "cookie"
    );
    assert_eq!(
        document["components"]["securitySchemes"]["refresh_cookie"]["name"],
        "refresh"
    );
    let tags: BTreeSet<&str> = document["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|tag| tag["name"].as_str())
        .collect();
    let mut operation_ids = BTreeMap::new();
    for (path, method, operation) in operations(&document) {
        let case = format!("{method} {path}");
        match operation["operationId"].as_str() {
            Some(id) => {
                if let Some(other) = operation_ids.insert(id.to_owned(), case.clone()) {
                    failures.push(format!("{case}: operationId {id} is also {other}'s"));
                }
            }
            None => failures.push(format!("{case}: no operationId")),
        }
        for tag in operation["tags"].as_array().into_iter().flatten() {
            if !tag.as_str().is_some_and(|tag| tags.contains(tag)) {
                failures.push(format!("{case}: undeclared tag {tag}"));
            }
        }
        let responses = operation["responses"].as_object();
        if !responses.is_some_and(|r| r.keys().any(|status| status.starts_with('2'))) {
            failures.push(format!("{case}: no success response"));
        }
        for (status, response) in responses.into_iter().flatten() {
            let pointer = format!("/paths/{}/{method}/responses/{status}", escape(&path));
            let resolved = resolved_pointer(&document, &pointer)
                .and_then(|pointer| document.pointer(&pointer));
            if !resolved.is_some_and(|r| r["description"].is_string()) {
                failures.push(format!("{case} {status}: no description ({response})"));
            }
        }
        // Path parameters: each `{name}` declared, in the path, required; no others.
        let in_path: BTreeSet<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|parameter| parameter["in"] == "path")
            .inspect(|parameter| {
                if parameter["required"] != true {
                    failures.push(format!("{case}: path parameter {parameter} not required"));
                }
            })
            .filter_map(|parameter| parameter["name"].as_str())
            .collect();
        if in_path != declared {
            failures.push(format!(
                "{case}: path parameters {in_path:?}, declared {declared:?}"
            ));
        }
        for requirement in operation["security"].as_array().into_iter().flatten() {
            for name in requirement
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, _)| name)
            {
                if !schemes.contains(name.as_str()) {
                    failures.push(format!("{case}: unknown security scheme {name}"));
                }
            }
        }
    }

    // Schemas are JSON Schema 2020-12, and examples match them.
    for (name, schema) in document["components"]["schemas"]
        .as_object()
        .expect("schemas")
    {
        if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
            failures.push(format!("schema {name}: {e}"));
        }
        let pointer = format!("/components/schemas/{}", escape(name));
        if let Some(example) = schema.get("example") {
            for error in schema_errors(&document, &pointer, example) {
                failures.push(format!("schema {name}'s example: {error}"));
            }
        }
    }
    let mut media = Vec::new();
    collect_media(&document, "", &mut media);
    assert!(
        media.len() > 40,
        "only {} media type objects found",
        media.len()
    );
    for pointer in &media {
        let content = document.pointer(pointer).expect("collected");
        let Some(schema) = content.get("schema") else {
            failures.push(format!("{pointer}: no schema"));
            continue;
        };
        if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
            failures.push(format!("{pointer}: schema: {e}"));
        }
        let schema_pointer = format!("{pointer}/schema");
        let examples = content
            .get("examples")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, example)| (name.clone(), &example["value"]))
            .chain(
                content
                    .get("example")
                    .map(|example| ("example".to_owned(), example)),
            );
        for (name, example) in examples {
            for error in schema_errors(&document, &schema_pointer, example) {
                failures.push(format!("{pointer} example {name}: {error}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    official_schema_check(&text);
}

/// The official OpenAPI 3.1 JSON Schema, through Python's `openapi-spec-validator` where it is
/// installed.
fn official_schema_check(text: &str) {
    let available = std::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !available {
        eprintln!(
            "openapi-spec-validator is not installed: the document was not checked against the \
             official OpenAPI 3.1 schema"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, text).expect("document written");
    let output = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator", "--schema", "3.1"])
        .arg(&file)
        .output()
        .expect("the validator runs");
    assert!(
        output.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every `$ref` string in `value`, with the JSON pointer of the object holding it.
fn collect_references(value: &Value, at: &str, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                found.push((at.to_owned(), reference.clone()));
            }
            for (key, child) in map {
                collect_references(child, &format!("{at}/{}", escape(key)), found);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                collect_references(child, &format!("{at}/{index}"), found);
            }
        }
        _ => {}
    }
}

/// The JSON pointers of every media type object (`.../content/<media type>`) of requests and
/// responses, in paths and in `components/responses`.
fn collect_media(value: &Value, at: &str, found: &mut Vec<String>) {
    let Value::Object(map) = value else {
        return;
    };
    for (key, child) in map {
        let pointer = format!("{at}/{}", escape(key));
        if key == "content"
            && (at.contains("/responses/") || at.ends_with("/requestBody"))
            && let Value::Object(media) = child
        {
            for name in media.keys() {
                found.push(format!("{pointer}/{}", escape(name)));
            }
        } else if !pointer.starts_with("/components/schemas") {
            collect_media(child, &pointer, found);
        }
    }
}

/// The login field, the user id claim, the cookie's name and the `Authorization` scheme are the
/// configured ones, and the adapted document still parses and validates.
#[tokio::test]
async fn the_document_follows_the_configuration() {
    let app = spawn_app(&[
        ("JWTD_USERNAME_FIELD", "email"),
        ("JWTD_REFRESH_COOKIE", "true"),
        ("JWTD_REFRESH_COOKIE_NAME", "jwtd_rt"),
        ("JWTD_AUTH_HEADER_TYPES", "JWT"),
        ("JWTD_USER_ID_CLAIM", "uid"),
    ])
    .await;
    let document = document_of(&app).await;
    let text = serde_json::to_string(&document).expect("serializes");
    oas3::from_json(&text).expect("oas3 parses the adapted document");
    official_schema_check(&text);
    let credentials = &document["components"]["schemas"]["Credentials"];
    let fields: Vec<&String> = credentials["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .collect();
    assert_eq!(fields, ["email", "password"]);
    assert_eq!(credentials["required"], json!(["email", "password"]));
    let active = &document["components"]["schemas"]["ActiveToken"];
    assert!(active["properties"]["uid"].is_object(), "{active}");
    assert!(active["properties"].get("user_id").is_none(), "{active}");
    assert!(
        active["required"]
            .as_array()
            .unwrap()
            .contains(&json!("uid")),
        "{active}"
    );
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["refresh_cookie"]["name"], "jwtd_rt");
    assert_eq!(schemes["access_token"]["type"], "apiKey");
    assert_eq!(schemes["access_token"]["in"], "header");
    assert_eq!(schemes["access_token"]["name"], "authorization");
    let description = schemes["access_token"]["description"].as_str().unwrap();
    assert!(
        description.contains("`authorization: JWT <token>`"),
        "{description}"
    );
}
