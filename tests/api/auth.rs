//! Authentication: every way a token can be wrong gets a 401 naming the
//! failed check (never the token), is written to the audit log, and the
//! configured RS256/EdDSA keys are chosen by `kid`.

use std::path::PathBuf;

use api::auth::Role;
use api::auth::jwt::{self, TokenRequest};
use api::auth::keys;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{TEST_SECRET, TestApp, TestDatabase, token_for};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn claims() -> Value {
    json!({ "sub": "probe", "role": "ADMIN", "iss": "cellreg", "aud": "cellreg-api", "iat": now(), "exp": now() + 600 })
}

fn with(patch: Value) -> Value {
    let mut claims = claims();
    for (key, value) in patch.as_object().expect("object") {
        if value.is_null() {
            claims.as_object_mut().expect("object").remove(key);
        } else {
            claims[key] = value.clone();
        }
    }
    claims
}

fn sign_with(header: Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&header, claims, key).expect("sign")
}

/// A token with the given `alg` header and an empty signature.
fn unsigned(alg: &str, claims: &Value) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
    format!("{header}.{}.", b64.encode(claims.to_string()))
}

fn hs256(claims: &Value) -> String {
    sign_with(
        Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
}

/// A well-signed HS256 token whose header names an extension the recipient must understand.
fn hs256_critical(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.crit = Some(vec!["exp".to_owned()]);
    sign_with(
        header,
        claims,
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
}

fn rs256(kid: &str, claims: &Value) -> String {
    let pem = std::fs::read(fixture("rsa-private.pem")).expect("fixture");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    sign_with(
        header,
        claims,
        &EncodingKey::from_rsa_pem(&pem).expect("RSA key"),
    )
}

async fn spawn_with_public_keys(database: &TestDatabase, file: &str) -> TestApp {
    let mut config = database.config();
    config.auth.jwt_public_keys = Some(fixture(file));
    TestApp::spawn(config).await
}

/// Asserts a 401 with the bearer challenge and exactly this reason, never echoing the token.
async fn assert_refused(app: &TestApp, token: &str, reason: &str) {
    let response = app
        .post_graphql(token, &json!({ "query": "{ version }" }))
        .await;
    assert_eq!(response.status(), 401, "{reason}");
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(challenge, r#"Bearer error="invalid_token""#, "{reason}");
    let body = response.text().await.expect("body");
    if token.len() > 8 {
        assert!(!body.contains(token), "the token is not echoed");
    }
    let problem: Value = serde_json::from_str(&body).expect("problem JSON");
    assert_eq!(problem["code"], "UNAUTHENTICATED", "{reason}");
    assert_eq!(problem["detail"], reason, "{body}");
    assert!(!body.contains(TEST_SECRET));
}

on_both_backends! {
    async fn every_bad_token_is_refused_with_its_reason(database: TestDatabase) {
        let app = spawn_with_public_keys(&database, "jwks.json").await;
        app.seed_district().await;
        let rsa_public = std::fs::read(fixture("rsa-public.pem")).expect("fixture");
        let cases: Vec<(&str, String, &str)> = vec![
            ("none", String::new(), "missing bearer token"),
            ("garbage", "not.a.token".into(), "malformed token"),
            ("two segments", "abc.def".into(), "malformed token"),
            ("expired", hs256(&with(json!({ "exp": now() - 120, "iat": now() - 600 }))), "token expired"),
            ("not yet valid", hs256(&with(json!({ "nbf": now() + 120 }))), "token not yet valid"),
            ("issued in the future", hs256(&with(json!({ "iat": now() + 120, "exp": now() + 600 }))), "token not yet valid"),
            ("wrong issuer", hs256(&with(json!({ "iss": "elsewhere" }))), "wrong issuer"),
            ("wrong audience", hs256(&with(json!({ "aud": ["someone-else"] }))), "wrong audience"),
            (
                "wrong signature",
                sign_with(Header::new(Algorithm::HS256), &claims(), &EncodingKey::from_secret(b"another-secret-another-secret-0123456")),
                "bad signature",
            ),
            ("alg none", unsigned("none", &claims()), "unsupported algorithm"),
            ("alg NONE", unsigned("NONE", &claims()), "unsupported algorithm"),
            ("HS512", sign_with(Header::new(Algorithm::HS512), &claims(), &EncodingKey::from_secret(TEST_SECRET.as_bytes())), "unsupported algorithm"),
            (
                "HS256 keyed with the RSA public key",
                sign_with(Header::new(Algorithm::HS256), &claims(), &EncodingKey::from_secret(&rsa_public)),
                "bad signature",
            ),
            ("unknown kid", rs256("rsa-1999", &claims()), "unknown key id"),
            ("critical header extension", hs256_critical(&claims()), "critical header extensions are not supported"),
            ("lifetime too long", hs256(&with(json!({ "exp": now() + 30 * 86_400 }))), "token lifetime exceeds the maximum of 86400 s"),
            ("unknown role", hs256(&with(json!({ "role": "SUPERUSER" }))), "unknown role"),
            ("role in lower case", hs256(&with(json!({ "role": "admin" }))), "unknown role"),
            ("missing sub", hs256(&with(json!({ "sub": null }))), "missing claim `sub`"),
            ("missing exp", hs256(&with(json!({ "exp": null }))), "missing claim `exp`"),
            ("missing role", hs256(&with(json!({ "role": null }))), "missing claim `role`"),
            ("scope names nothing", hs256(&with(json!({ "role": "READER", "org": "NO.SUCH.ORG" }))), "`org` names no organization"),
            ("unscoped non-admin", hs256(&with(json!({ "role": "READER" }))), "a token without `org` must have role ADMIN"),
            ("oversized", "a".repeat(9 * 1024), "token larger than 8 KiB"),
        ];
        for (_case, token, reason) in &cases {
            assert_refused(&app, token, reason).await;
        }

        let basic = app
            .client()
            .post(app.url("/graphql"))
            .header("authorization", "Basic YWRtaW46YWRtaW4=")
            .json(&json!({ "query": "{ version }" }))
            .send()
            .await
            .expect("POST");
        assert_eq!(basic.status(), 401);

        // Each refusal is in the audit log.
        let answer = app.graphql("{ auditLog(first: 500, action: \"authenticate\") { edges { node { outcome errorCode subject } } } }", json!({})).await;
        let rows = answer["data"]["auditLog"]["edges"].as_array().expect("rows").len();
        assert_eq!(rows, cases.len() + 1, "{answer}");
        assert!(answer["data"]["auditLog"]["edges"].as_array().expect("rows").iter().all(|edge| edge["node"]["outcome"] == "DENIED"));
    }
}

on_both_backends! {
    async fn rs256_and_eddsa_keys_are_chosen_by_kid(database: TestDatabase) {
        let app = spawn_with_public_keys(&database, "jwks.json").await;
        let answer = app.graphql_as(&rs256("rsa-2026", &claims()), "{ me { subject role } }", json!({})).await;
        assert_eq!(answer["data"]["me"]["subject"], "probe", "{answer}");

        let ed_pem = std::fs::read(fixture("ed25519-private.pem")).expect("fixture");
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("ed-2026".to_owned());
        let ed_token = sign_with(header, &claims(), &EncodingKey::from_ed_pem(&ed_pem).expect("Ed25519 key"));
        let answer = app.graphql_as(&ed_token, "{ me { role } }", json!({})).await;
        assert_eq!(answer["data"]["me"]["role"], "ADMIN", "{answer}");

        // An EdDSA token under the RSA key's id does not verify.
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("rsa-2026".to_owned());
        let crossed = sign_with(header, &claims(), &EncodingKey::from_ed_pem(&ed_pem).expect("Ed25519 key"));
        assert_refused(&app, &crossed, "unknown key id").await;
        // A token naming a key that only exists by path is not looked up as a file.
        assert_refused(&app, &rs256("../../../dev/null", &claims()), "unknown key id").await;
    }
}

on_both_backends! {
    async fn a_pem_public_key_verifies_tokens_signed_by_cellreg_token(database: TestDatabase) {
        let app = spawn_with_public_keys(&database, "rsa-public.pem").await;
        let mut args = database.config().auth;
        args.jwt_secret = None;
        let key = keys::signing_key(&args, Some(&fixture("rsa-private.pem")), None).expect("private key");
        let request = TokenRequest { subject: "ops".into(), role: Role::Admin, org: None, ttl: std::time::Duration::from_secs(3600) };
        let token = jwt::issue(&key, "cellreg", "cellreg-api", args.token_max_lifetime, &request).expect("token");
        let answer = app.graphql_as(&token, "{ me { subject } }", json!({})).await;
        assert_eq!(answer["data"]["me"]["subject"], "ops", "{answer}");
    }
}

on_both_backends! {
    async fn me_returns_the_principal_and_nothing_more(app: TestApp) {
        app.seed_district().await;
        let reader = token_for(Role::Reader, Some("SL.BL"));
        let answer = app.graphql_as(&reader, "{ me { subject role scope { code name } } }", json!({})).await;
        assert_eq!(answer["data"]["me"], json!({ "subject": "reader-SL.BL", "role": "READER", "scope": { "code": "SL.BL", "name": "Tổ chức SL.BL" } }));
        let admin = app.graphql("{ me { role scope { code } } }", json!({})).await;
        assert_eq!(admin["data"]["me"], json!({ "role": "ADMIN", "scope": null }));
    }
}

on_both_backends! {
    async fn request_ids_are_echoed_or_made(app: TestApp) {
        let response = app.client().get(app.url("/healthz")).header("x-request-id", "trace-42.a_b").send().await.expect("GET");
        assert_eq!(response.headers()["x-request-id"], "trace-42.a_b");
        let response = app.client().get(app.url("/healthz")).header("x-request-id", "bad id with spaces").send().await.expect("GET");
        let made = response.headers()["x-request-id"].to_str().expect("ascii").to_owned();
        assert_ne!(made, "bad id with spaces");
        assert_eq!(made.len(), 36, "a fresh UUID");
    }
}

e2e_test! {
    fn a_short_shared_secret_is_refused_at_start() {
        let mut args = api::config::AuthArgs::with_secret("too-short");
        args.jwt_secret_file = std::env::temp_dir().join("never-written");
        let err = keys::verifier(&args).err().expect("refused").to_string();
        assert_eq!(err, "JWT_SECRET is 9 bytes; at least 32 are required");
    }
}

e2e_test! {
    fn the_secret_file_is_made_once_with_mode_0600_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir =
            std::env::temp_dir().join(format!("cellreg-secret-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("dir");
        let mut args = api::config::AuthArgs::with_secret("unused");
        args.jwt_secret = None;
        args.jwt_secret_file = dir.join("cellreg.jwt-secret");
        let first = keys::shared_secret(&args).expect("made").expect("secret");
        let mode = std::fs::metadata(&args.jwt_secret_file)
            .expect("file")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        assert!(first.expose().len() >= 32);
        let second = keys::shared_secret(&args).expect("read").expect("secret");
        assert_eq!(first, second, "the same secret on the next start");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
