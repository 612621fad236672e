//! Token verification and issuing, with the whole validation policy in one
//! place. jsonwebtoken checks signatures, `exp`, `nbf`, `iss` and `aud` once
//! configured; the size cap, the algorithm allow-list, key choice by `kid`,
//! `iat` in the future and the maximum lifetime are checked here.

use std::collections::HashSet;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::Role;

/// Tokens longer than this are refused unread.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Clock skew allowed on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECONDS: u64 = 60;

/// Why a token was refused. The text is the one-line reason callers see:
/// it names the failed check, never a secret or the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("missing bearer token")]
    Missing,
    #[error("token larger than 8 KiB")]
    TooLarge,
    #[error("malformed token")]
    Malformed,
    #[error("critical header extensions are not supported")]
    CriticalExtension,
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    #[error("unknown key id")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
    #[error("missing claim `{0}`")]
    MissingClaim(&'static str),
    #[error("token lifetime exceeds the maximum of {0} s")]
    LifetimeTooLong(u64),
    #[error("unknown role")]
    UnknownRole,
    #[error("a token without `org` must have role ADMIN")]
    ScopeRequired,
    #[error("`org` names no organization")]
    UnknownScope,
}

/// The claims cellreg reads. Typed, so a duplicated key is a malformed token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Option<String>,
    /// Kept raw so a wrong type (array, null) reads as an unknown role.
    pub role: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    pub iss: Option<String>,
    pub aud: Option<serde_json::Value>,
    pub exp: Option<u64>,
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

/// A verified token's identity, before its scope is resolved against the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedClaims {
    pub subject: String,
    pub role: Role,
    pub org: Option<String>,
    /// The `exp` claim: nothing is served on the token's authority from then on.
    pub expires_at: DateTime<Utc>,
}

/// A key tokens may be verified with.
pub struct VerifyingKey {
    pub kid: Option<String>,
    pub algorithm: Algorithm,
    pub key: DecodingKey,
}

/// The signing key of `cellreg token`.
pub struct SigningKey {
    pub kid: Option<String>,
    pub algorithm: Algorithm,
    pub key: EncodingKey,
}

/// Everything needed to verify tokens.
pub struct JwtVerifier {
    keys: Vec<VerifyingKey>,
    issuer: String,
    audience: String,
    max_lifetime: Duration,
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

#[derive(Deserialize)]
struct RawHeader {
    alg: Option<serde_json::Value>,
    kid: Option<serde_json::Value>,
    /// Extensions the sender says a recipient must understand (RFC 7515
    /// §4.1.11); cellreg understands none, so any `crit`, even `null`,
    /// refuses the token.
    #[serde(default, deserialize_with = "present")]
    crit: Option<serde_json::Value>,
}

/// `Some` for a member that is there, whatever its value (`null` included).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(deserializer).map(Some)
}

impl JwtVerifier {
    pub fn new(
        keys: Vec<VerifyingKey>,
        issuer: String,
        audience: String,
        max_lifetime: Duration,
    ) -> Self {
        Self {
            keys,
            issuer,
            audience,
            max_lifetime,
        }
    }

    /// The algorithms tokens may use: exactly those of the configured keys.
    pub fn algorithms(&self) -> HashSet<Algorithm> {
        self.keys.iter().map(|key| key.algorithm).collect()
    }

    pub fn verify(&self, token: &str) -> Result<VerifiedClaims, TokenError> {
        if token.is_empty() {
            return Err(TokenError::Missing);
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        let mut segments = token.split('.');
        let (Some(header), Some(_), Some(_), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(TokenError::Malformed);
        };
        // Read alg, kid and crit ourselves: jsonwebtoken cannot even parse
        // `alg: none`, ignores `crit`, and an algorithm outside the
        // allow-list deserves its own reason.
        let header: RawHeader = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(TokenError::Malformed)?;
        if header.crit.is_some() {
            return Err(TokenError::CriticalExtension);
        }
        let algorithm = header
            .alg
            .as_ref()
            .and_then(serde_json::Value::as_str)
            .and_then(|alg| alg.parse::<Algorithm>().ok())
            .filter(|alg| self.algorithms().contains(alg))
            .ok_or(TokenError::UnsupportedAlgorithm)?;
        let kid = match header.kid {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(kid)) => Some(kid),
            Some(_) => return Err(TokenError::Malformed),
        };
        // Key choice is a plain comparison: a `kid` never names a file, a URL or a query.
        let candidates: Vec<&VerifyingKey> = self
            .keys
            .iter()
            .filter(|key| key.algorithm == algorithm)
            .filter(|key| kid.is_none() || key.kid == kid)
            .collect();
        if candidates.is_empty() {
            return Err(TokenError::UnknownKey);
        }

        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);

        let mut last = TokenError::BadSignature;
        for candidate in candidates {
            match jsonwebtoken::decode::<Claims>(token, &candidate.key, &validation) {
                Ok(data) => return self.check_claims(data.claims),
                Err(err) => {
                    last = map_error(err.kind());
                    if last != TokenError::BadSignature {
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }

    fn check_claims(&self, claims: Claims) -> Result<VerifiedClaims, TokenError> {
        let exp = claims.exp.ok_or(TokenError::MissingClaim("exp"))?;
        let iat = claims.iat.ok_or(TokenError::MissingClaim("iat"))?;
        if iat > now() + LEEWAY_SECONDS {
            return Err(TokenError::NotYetValid);
        }
        let max = self.max_lifetime.as_secs();
        if exp.saturating_sub(iat) > max {
            return Err(TokenError::LifetimeTooLong(max));
        }
        let subject = claims
            .sub
            .filter(|sub| !sub.trim().is_empty() && sub.len() <= 255);
        let subject = subject.ok_or(TokenError::MissingClaim("sub"))?;
        let role = match &claims.role {
            None => return Err(TokenError::MissingClaim("role")),
            Some(serde_json::Value::String(role)) => {
                Role::parse(role).ok_or(TokenError::UnknownRole)?
            }
            Some(_) => return Err(TokenError::UnknownRole),
        };
        if claims.org.is_none() && role != Role::Admin {
            return Err(TokenError::ScopeRequired);
        }
        let expires_at = i64::try_from(exp)
            .ok()
            .and_then(|exp| DateTime::from_timestamp(exp, 0))
            .ok_or(TokenError::Malformed)?;
        Ok(VerifiedClaims {
            subject,
            role,
            org: claims.org,
            expires_at,
        })
    }
}

fn map_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "exp" => TokenError::MissingClaim("exp"),
            "iss" => TokenError::MissingClaim("iss"),
            "aud" => TokenError::MissingClaim("aud"),
            "sub" => TokenError::MissingClaim("sub"),
            _ => TokenError::Malformed,
        },
        ErrorKind::InvalidAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::UnsupportedAlgorithm => TokenError::UnsupportedAlgorithm,
        _ => TokenError::Malformed,
    }
}

/// What `cellreg token` puts in a token.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub subject: String,
    pub role: Role,
    pub org: Option<String>,
    pub ttl: Duration,
}

/// Signs a token with the given key. Refuses what the server would refuse.
pub fn issue(
    key: &SigningKey,
    issuer: &str,
    audience: &str,
    max_lifetime: Duration,
    request: &TokenRequest,
) -> Result<String, String> {
    if request.ttl.is_zero() || request.ttl > max_lifetime {
        return Err(format!(
            "--ttl must be between 1 s and the maximum lifetime of {} s",
            max_lifetime.as_secs()
        ));
    }
    if request.subject.trim().is_empty() || request.subject.len() > 255 {
        return Err("--sub must be 1 to 255 characters".to_owned());
    }
    if request.org.is_none() && request.role != Role::Admin {
        return Err("a token without --org must have role ADMIN".to_owned());
    }
    let iat = now();
    let claims = Claims {
        sub: Some(request.subject.clone()),
        role: Some(serde_json::Value::String(request.role.as_str().to_owned())),
        org: request.org.clone(),
        iss: Some(issuer.to_owned()),
        aud: Some(serde_json::Value::String(audience.to_owned())),
        exp: Some(iat + request.ttl.as_secs()),
        iat: Some(iat),
        nbf: None,
    };
    let mut header = Header::new(key.algorithm);
    header.kid.clone_from(&key.kid);
    jsonwebtoken::encode(&header, &claims, &key.key)
        .map_err(|err| format!("cannot sign the token: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn verifier() -> JwtVerifier {
        let key = VerifyingKey {
            kid: None,
            algorithm: Algorithm::HS256,
            key: DecodingKey::from_secret(SECRET),
        };
        JwtVerifier::new(
            vec![key],
            "cellreg".into(),
            "cellreg-api".into(),
            Duration::from_secs(86_400),
        )
    }

    fn sign(claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    }

    fn claims() -> serde_json::Value {
        serde_json::json!({ "sub": "me", "role": "ADMIN", "iss": "cellreg", "aud": "cellreg-api",
                            "iat": now(), "exp": now() + 600 })
    }

    #[test]
    fn a_good_token_verifies() {
        let claims = claims();
        let verified = verifier().verify(&sign(&claims)).unwrap();
        let exp = claims["exp"].as_i64().unwrap();
        assert_eq!(
            verified,
            VerifiedClaims {
                subject: "me".into(),
                role: Role::Admin,
                org: None,
                expires_at: DateTime::from_timestamp(exp, 0).unwrap(),
            }
        );
    }

    #[test]
    fn each_check_has_its_reason() {
        let cases: Vec<(&str, serde_json::Value, TokenError)> = vec![
            (
                "expired",
                serde_json::json!({ "exp": now() - 61 }),
                TokenError::Expired,
            ),
            (
                "nbf",
                serde_json::json!({ "nbf": now() + 120 }),
                TokenError::NotYetValid,
            ),
            (
                "iat",
                serde_json::json!({ "iat": now() + 120, "exp": now() + 600 }),
                TokenError::NotYetValid,
            ),
            (
                "iss",
                serde_json::json!({ "iss": "someone-else" }),
                TokenError::WrongIssuer,
            ),
            (
                "aud",
                serde_json::json!({ "aud": ["other"] }),
                TokenError::WrongAudience,
            ),
            (
                "lifetime",
                serde_json::json!({ "exp": now() + 30 * 86_400 }),
                TokenError::LifetimeTooLong(86_400),
            ),
            (
                "role",
                serde_json::json!({ "role": "admin" }),
                TokenError::UnknownRole,
            ),
            (
                "role array",
                serde_json::json!({ "role": ["ADMIN"] }),
                TokenError::UnknownRole,
            ),
            (
                "scope",
                serde_json::json!({ "role": "READER" }),
                TokenError::ScopeRequired,
            ),
            (
                "sub",
                serde_json::json!({ "sub": null }),
                TokenError::MissingClaim("sub"),
            ),
            (
                "iat missing",
                serde_json::json!({ "iat": null }),
                TokenError::MissingClaim("iat"),
            ),
        ];
        for (name, patch, expected) in cases {
            let mut token_claims = claims();
            for (key, value) in patch.as_object().unwrap() {
                if value.is_null() {
                    token_claims.as_object_mut().unwrap().remove(key);
                } else {
                    token_claims[key] = value.clone();
                }
            }
            assert_eq!(
                verifier().verify(&sign(&token_claims)),
                Err(expected),
                "{name}"
            );
        }
    }

    #[test]
    fn expiry_within_the_leeway_is_accepted() {
        let mut token_claims = claims();
        token_claims["exp"] = serde_json::json!(now() - 30);
        assert!(verifier().verify(&sign(&token_claims)).is_ok());
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
        for alg in ["none", "None", "NONE", "HS512", "RS256"] {
            let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
            assert_eq!(
                verifier().verify(&format!("{header}.{payload}.")),
                Err(TokenError::UnsupportedAlgorithm),
                "{alg}"
            );
        }
    }

    #[test]
    fn malformed_and_oversized_tokens_are_refused() {
        for token in ["not.a.token", "a.b", "a.b.c.d.e", "!!!.???.***"] {
            assert_eq!(
                verifier().verify(token),
                Err(TokenError::Malformed),
                "{token}"
            );
        }
        assert_eq!(
            verifier().verify(&"a".repeat(MAX_TOKEN_BYTES + 1)),
            Err(TokenError::TooLarge)
        );
        assert_eq!(verifier().verify(""), Err(TokenError::Missing));
    }

    #[test]
    fn a_critical_header_extension_is_refused_even_when_signed() {
        let signed = |header: String| {
            let body = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(claims().to_string())
            );
            let signature = jsonwebtoken::crypto::sign(
                body.as_bytes(),
                &EncodingKey::from_secret(SECRET),
                Algorithm::HS256,
            )
            .unwrap();
            format!("{body}.{signature}")
        };
        let plain = signed(r#"{"alg":"HS256","typ":"JWT","b64":true}"#.to_owned());
        assert!(verifier().verify(&plain).is_ok());
        for crit in [r#"["exp"]"#, r#"["b64"]"#, "[]", "null"] {
            let token = signed(format!(
                r#"{{"alg":"HS256","typ":"JWT","crit":{crit},"b64":true}}"#
            ));
            assert_eq!(
                verifier().verify(&token),
                Err(TokenError::CriticalExtension),
                "{crit}"
            );
        }
    }

    #[test]
    fn a_tampered_payload_fails_the_signature() {
        let token = sign(&claims());
        let parts: Vec<&str> = token.split('.').collect();
        let mut tampered = claims();
        tampered["sub"] = serde_json::json!("someone-else");
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(tampered.to_string()),
            parts[2]
        );
        assert_eq!(verifier().verify(&forged), Err(TokenError::BadSignature));
    }

    #[test]
    fn duplicate_claims_make_a_malformed_token() {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = format!(
            r#"{{"sub":"me","role":"READER","role":"ADMIN","iss":"cellreg","aud":"cellreg-api","iat":{},"exp":{}}}"#,
            now(),
            now() + 60
        );
        let body = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
        let signature = {
            use jsonwebtoken::crypto::sign;
            sign(
                body.as_bytes(),
                &EncodingKey::from_secret(SECRET),
                Algorithm::HS256,
            )
            .unwrap()
        };
        assert_eq!(
            verifier().verify(&format!("{body}.{signature}")),
            Err(TokenError::Malformed)
        );
    }
}
