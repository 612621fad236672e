//! Key material from the configuration: the HS256 shared secret (from
//! `JWT_SECRET`, or made once and kept in a 0600 file), public keys for
//! RS256/EdDSA from a PEM or JWKS file, and the private key `cellreg token` signs with.

use std::io::Write;
use std::path::Path;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use super::jwt::{JwtVerifier, SigningKey, VerifyingKey};
use crate::config::{AuthArgs, Secret};

/// Shortest HS256 secret accepted (RFC 7518 §3.2).
pub const MIN_SECRET_BYTES: usize = 32;

/// Why the keys could not be loaded; one line each, naming the file or variable.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("JWT_SECRET is {0} bytes; at least 32 are required")]
    SecretTooShort(usize),
    #[error("the secret file {path} holds fewer than 32 bytes; remove it to have a new one made")]
    SecretFileTooShort { path: String },
    #[error("cannot read {path}: {cause}")]
    Read { path: String, cause: String },
    #[error("cannot create the secret file {path}: {cause}")]
    Create { path: String, cause: String },
    #[error("{path}: {cause}")]
    BadKey { path: String, cause: String },
    #[error(
        "no key to sign with: set JWT_SECRET, or pass --private-key when the server verifies with JWT_PUBLIC_KEYS"
    )]
    NoSigningKey,
}

/// The HS256 secret, when HS256 is in use: `JWT_SECRET` if set; otherwise,
/// unless public keys are configured, the secret file (made on first use).
pub fn shared_secret(args: &AuthArgs) -> Result<Option<Secret>, KeyError> {
    if let Some(secret) = &args.jwt_secret {
        let len = secret.expose().len();
        if len < MIN_SECRET_BYTES {
            return Err(KeyError::SecretTooShort(len));
        }
        return Ok(Some(secret.clone()));
    }
    if args.jwt_public_keys.is_some() {
        return Ok(None);
    }
    read_or_create_secret_file(&args.jwt_secret_file).map(Some)
}

fn read_or_create_secret_file(path: &Path) -> Result<Secret, KeyError> {
    let shown = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(content) => {
            let secret = content.trim();
            if secret.len() < MIN_SECRET_BYTES {
                return Err(KeyError::SecretFileTooShort { path: shown });
            }
            Ok(Secret::new(secret.to_owned()))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|err| KeyError::Create {
                path: shown.clone(),
                cause: err.to_string(),
            })?;
            let secret = hex::encode(bytes);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).map_err(|err| KeyError::Create {
                path: shown.clone(),
                cause: err.to_string(),
            })?;
            file.write_all(format!("{secret}\n").as_bytes())
                .map_err(|err| KeyError::Create {
                    path: shown.clone(),
                    cause: err.to_string(),
                })?;
            tracing::info!(path = %shown, "made a new JWT signing secret");
            Ok(Secret::new(secret))
        }
        Err(err) => Err(KeyError::Read {
            path: shown,
            cause: err.to_string(),
        }),
    }
}

/// The verifier for `cellreg serve`: HS256 if a shared secret is in use, and
/// every public key of `JWT_PUBLIC_KEYS`.
pub fn verifier(args: &AuthArgs) -> Result<JwtVerifier, KeyError> {
    let mut keys = Vec::new();
    if let Some(secret) = shared_secret(args)? {
        keys.push(VerifyingKey {
            kid: None,
            algorithm: Algorithm::HS256,
            key: DecodingKey::from_secret(secret.expose().as_bytes()),
        });
    }
    if let Some(path) = &args.jwt_public_keys {
        keys.extend(public_keys(path)?);
    }
    Ok(JwtVerifier::new(
        keys,
        args.jwt_issuer.clone(),
        args.jwt_audience.clone(),
        args.token_max_lifetime,
    ))
}

/// The key `cellreg token` signs with: a private key file (RS256 or EdDSA)
/// if given, the shared secret otherwise.
pub fn signing_key(
    args: &AuthArgs,
    private_key: Option<&Path>,
    kid: Option<String>,
) -> Result<SigningKey, KeyError> {
    if let Some(path) = private_key {
        let shown = path.display().to_string();
        let pem = std::fs::read(path).map_err(|err| KeyError::Read {
            path: shown.clone(),
            cause: err.to_string(),
        })?;
        if let Ok(key) = EncodingKey::from_rsa_pem(&pem) {
            return Ok(SigningKey {
                kid,
                algorithm: Algorithm::RS256,
                key,
            });
        }
        if let Ok(key) = EncodingKey::from_ed_pem(&pem) {
            return Ok(SigningKey {
                kid,
                algorithm: Algorithm::EdDSA,
                key,
            });
        }
        return Err(KeyError::BadKey {
            path: shown,
            cause: "not an RSA or Ed25519 private key in PEM".to_owned(),
        });
    }
    let secret = shared_secret(args)?.ok_or(KeyError::NoSigningKey)?;
    Ok(SigningKey {
        kid,
        algorithm: Algorithm::HS256,
        key: EncodingKey::from_secret(secret.expose().as_bytes()),
    })
}

/// Public keys from a JWKS document (each key chosen by its `kid`) or from
/// one or more PEM blocks.
fn public_keys(path: &Path) -> Result<Vec<VerifyingKey>, KeyError> {
    let shown = path.display().to_string();
    let bad = |cause: String| KeyError::BadKey {
        path: shown.clone(),
        cause,
    };
    let content = std::fs::read_to_string(path).map_err(|err| KeyError::Read {
        path: shown.clone(),
        cause: err.to_string(),
    })?;
    let mut keys = Vec::new();
    if content.trim_start().starts_with('{') {
        let set: JwkSet = serde_json::from_str(&content)
            .map_err(|err| bad(format!("not a JWKS document ({err})")))?;
        for jwk in &set.keys {
            let algorithm = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::OctetKeyPair(params)
                    if params.curve == EllipticCurve::Ed25519 =>
                {
                    Algorithm::EdDSA
                }
                _ => {
                    return Err(bad(
                        "only RSA (RS256) and Ed25519 (EdDSA) keys are supported".to_owned(),
                    ));
                }
            };
            let key =
                DecodingKey::from_jwk(jwk).map_err(|err| bad(format!("unusable key ({err})")))?;
            keys.push(VerifyingKey {
                kid: jwk.common.key_id.clone(),
                algorithm,
                key,
            });
        }
    } else {
        for block in content
            .split_inclusive("-----END PUBLIC KEY-----")
            .filter(|b| b.contains("-----BEGIN"))
        {
            let pem = block.trim().as_bytes();
            let (algorithm, key) = if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
                (Algorithm::RS256, key)
            } else if let Ok(key) = DecodingKey::from_ed_pem(pem) {
                (Algorithm::EdDSA, key)
            } else {
                return Err(bad(
                    "a PEM block is not an RSA or Ed25519 public key".to_owned()
                ));
            };
            keys.push(VerifyingKey {
                kid: None,
                algorithm,
                key,
            });
        }
    }
    if keys.is_empty() {
        return Err(bad("holds no public key".to_owned()));
    }
    Ok(keys)
}
