//! Masking personal data: keyed, deterministic, format-aware values that are recognised as
//! masked, so that masking twice changes nothing.
//!
//! A masked value is HMAC-SHA-256 of the original under the key (`POSTCLONE_MASK_KEY` or a key
//! file), written in the column's format: the same original gives the same value in every
//! table and every run (an order's contact email still equals its customer's), another key
//! gives other values. NULL stays NULL and an empty text stays empty: nothing is invented
//! where there was nothing.

use std::fmt;

use hmac::{Hmac, Mac};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::state::Value;

/// The environment variable holding the masking key; it wins over `masking.key_file`.
pub const MASK_KEY_VARIABLE: &str = "POSTCLONE_MASK_KEY";

/// How a column is masked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "MethodSpec", into = "MethodSpec")]
pub enum MaskMethod {
    /// A person's name: `Person 3F9A2C1B77D0`.
    Name,
    /// A valid address at a reserved domain: `p3f9a2c1b77d0@example.com`.
    Email,
    /// A fictional number (555-01XX): `+1 555 0142 7731`.
    Phone,
    /// A login name: `user-3f9a2c1b77d0`.
    Username,
    /// Free text replaced: `[redacted]`.
    Redact,
    /// NULL.
    Null,
    /// This value for every row.
    Constant(Value),
}

/// How a masking method is written: `name`, `email`, `phone`, `username`, `redact`, `null`, or
/// `{constant: VALUE}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MethodSpec {
    /// `null` (the YAML null or the word).
    Null(()),
    /// A method's name.
    Named(String),
    /// `{constant: VALUE}`.
    Constant {
        /// The value.
        constant: Value,
    },
}

// Written as a `MethodSpec` whose names are a closed list, so documented as one.
impl JsonSchema for MaskMethod {
    fn schema_name() -> String {
        "MaskMethod".into()
    }

    fn json_schema(gen: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        use schemars::schema::{InstanceType, ObjectValidation, SchemaObject, SubschemaValidation};
        let named = SchemaObject {
            instance_type: Some(InstanceType::String.into()),
            enum_values: Some(
                ["name", "email", "phone", "username", "redact", "null"]
                    .iter()
                    .map(|n| serde_json::Value::from(*n))
                    .collect(),
            ),
            ..SchemaObject::default()
        };
        let constant = SchemaObject {
            instance_type: Some(InstanceType::Object.into()),
            object: Some(Box::new(ObjectValidation {
                required: ["constant".to_string()].into(),
                properties: [("constant".to_string(), gen.subschema_for::<Value>())].into(),
                additional_properties: Some(Box::new(false.into())),
                ..ObjectValidation::default()
            })),
            ..SchemaObject::default()
        };
        let null = SchemaObject {
            instance_type: Some(InstanceType::Null.into()),
            ..SchemaObject::default()
        };
        let mut schema = SchemaObject {
            subschemas: Some(Box::new(SubschemaValidation {
                one_of: Some(vec![null.into(), named.into(), constant.into()]),
                ..SubschemaValidation::default()
            })),
            ..SchemaObject::default()
        };
        schema.metadata().description = Some(
            "How a column is masked: name, email, phone, username, redact, null, or {constant: VALUE}."
                .into(),
        );
        schema.into()
    }
}

/// A masking method that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a masking method; write name, email, phone, username, redact, null or {{constant: VALUE}}")]
pub struct UnknownMethod(pub String);

impl TryFrom<MethodSpec> for MaskMethod {
    type Error = UnknownMethod;

    fn try_from(spec: MethodSpec) -> Result<MaskMethod, UnknownMethod> {
        Ok(match spec {
            MethodSpec::Null(()) => MaskMethod::Null,
            MethodSpec::Constant { constant } => MaskMethod::Constant(constant),
            MethodSpec::Named(n) => match n.as_str() {
                "name" => MaskMethod::Name,
                "email" => MaskMethod::Email,
                "phone" => MaskMethod::Phone,
                "username" => MaskMethod::Username,
                "redact" => MaskMethod::Redact,
                "null" => MaskMethod::Null,
                _ => return Err(UnknownMethod(n)),
            },
        })
    }
}

impl From<MaskMethod> for MethodSpec {
    fn from(m: MaskMethod) -> MethodSpec {
        match m {
            MaskMethod::Null => MethodSpec::Null(()),
            MaskMethod::Constant(constant) => MethodSpec::Constant { constant },
            other => MethodSpec::Named(other.to_string()),
        }
    }
}

impl fmt::Display for MaskMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MaskMethod::Name => "name",
            MaskMethod::Email => "email",
            MaskMethod::Phone => "phone",
            MaskMethod::Username => "username",
            MaskMethod::Redact => "redact",
            MaskMethod::Null => "null",
            MaskMethod::Constant(_) => "constant",
        })
    }
}

/// The masking key. Never printed, never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct MaskKey(Vec<u8>);

impl fmt::Debug for MaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MaskKey(…)")
    }
}

/// A key too short to resist guessing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the masking key has {0} bytes; use at least 16 (for example `openssl rand -hex 32`)")]
pub struct WeakKey(pub usize);

impl MaskKey {
    /// A key from its text (surrounding blanks ignored), at least 16 bytes long.
    ///
    /// # Errors
    /// [`WeakKey`] for a shorter text.
    pub fn new(text: &str) -> Result<MaskKey, WeakKey> {
        let text = text.trim();
        if text.len() < 16 {
            return Err(WeakKey(text.len()));
        }
        Ok(MaskKey(text.as_bytes().to_vec()))
    }

    /// A name for the key that does not reveal it (HMAC of a fixed text under the key, 16
    /// hex digits): which key masked, for the attestation.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(b"postclone masking key fingerprint");
        hex(&mac.finalize().into_bytes()[..8])
    }

    /// The key's bytes, for digests that stay in memory (the copies scan's).
    #[must_use]
    pub(crate) fn secret(&self) -> &[u8] {
        &self.0
    }

    fn digest(&self, method: &MaskMethod, original: &str) -> [u8; 32] {
        // Emails compare without case; the method separates the domains, so that a name and an
        // email that happen to be equal do not mask to related values.
        let original = match method {
            MaskMethod::Email | MaskMethod::Username => original.trim().to_lowercase(),
            _ => original.trim().to_string(),
        };
        // HMAC takes keys of any length: `new_from_slice` has no error to return here. A key
        // of any length is also checked by `MaskKey::new`.
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.0) else {
            return Sha256::digest(original.as_bytes()).into();
        };
        mac.update(method.to_string().as_bytes());
        mac.update(b"\0");
        mac.update(original.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

use super::value::hex;

const REDACTED: &str = "[redacted]";

impl MaskMethod {
    /// The masked value of `original`. NULL stays NULL and an empty (or blank) text stays as
    /// it is; a value already masked is returned unchanged.
    #[must_use]
    pub fn mask(&self, key: &MaskKey, original: &Value) -> Value {
        if self.is_masked(original) {
            return original.clone();
        }
        let text = match original {
            Value::Null => return Value::Null,
            Value::Text(t) if t.trim().is_empty() => return original.clone(),
            Value::Text(t) => t.clone(),
            other => other.to_string(),
        };
        let d = key.digest(self, &text);
        match self {
            MaskMethod::Name => Value::Text(format!("Person {}", hex(&d[..6]).to_uppercase())),
            MaskMethod::Email => Value::Text(format!("p{}@example.com", hex(&d[..6]))),
            MaskMethod::Username => Value::Text(format!("user-{}", hex(&d[..6]))),
            MaskMethod::Phone => {
                let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % 1_000_000;
                Value::Text(format!("+1 555 01{:02} {:04}", n / 10_000, n % 10_000))
            }
            MaskMethod::Redact => Value::Text(REDACTED.into()),
            MaskMethod::Null => Value::Null,
            MaskMethod::Constant(v) => v.clone(),
        }
    }

    /// Whether `value` needs no masking: NULL, empty, or already in this method's masked form.
    #[must_use]
    pub fn is_masked(&self, value: &Value) -> bool {
        let text = match value {
            Value::Null => return true,
            Value::Text(t) if t.trim().is_empty() => return true,
            Value::Text(t) => t.as_str(),
            other => return matches!(self, MaskMethod::Constant(v) if v.same_as(other)),
        };
        let hex_of = |s: &str, n: usize, upper: bool| {
            s.len() == n
                && s.bytes().all(|b| {
                    b.is_ascii_digit()
                        || if upper {
                            (b'A'..=b'F').contains(&b)
                        } else {
                            (b'a'..=b'f').contains(&b)
                        }
                })
        };
        match self {
            MaskMethod::Name => text
                .strip_prefix("Person ")
                .is_some_and(|h| hex_of(h, 12, true)),
            MaskMethod::Email => text
                .strip_prefix('p')
                .and_then(|r| r.strip_suffix("@example.com"))
                .is_some_and(|h| hex_of(h, 12, false)),
            MaskMethod::Username => text
                .strip_prefix("user-")
                .is_some_and(|h| hex_of(h, 12, false)),
            MaskMethod::Phone => text.strip_prefix("+1 555 01").is_some_and(|r| {
                r.len() == 7
                    && r.as_bytes()[2] == b' '
                    && r.bytes()
                        .enumerate()
                        .all(|(i, b)| i == 2 || b.is_ascii_digit())
            }),
            MaskMethod::Redact => text == REDACTED,
            MaskMethod::Null => false,
            MaskMethod::Constant(v) => v.same_as(value),
        }
    }

    /// The longest masked text this method writes, for the column's length check.
    #[must_use]
    pub fn longest(&self) -> usize {
        match self {
            MaskMethod::Name => 19,
            MaskMethod::Email => 25,
            MaskMethod::Username => 17,
            MaskMethod::Phone => 16,
            MaskMethod::Redact => REDACTED.len(),
            MaskMethod::Null => 0,
            MaskMethod::Constant(v) => v.to_string().chars().count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> MaskKey {
        MaskKey::new(k).unwrap()
    }

    /// Deterministic under one key, different under another; in the method's format, within
    /// its length, recognised as masked, so that masking again changes nothing.
    #[test]
    fn deterministic_keyed_idempotent() {
        let (a, b) = (key("0123456789abcdef-one"), key("0123456789abcdef-two"));
        let alice = Value::Text("Alice.Martin@Customer.example".into());
        for method in [
            MaskMethod::Name,
            MaskMethod::Email,
            MaskMethod::Phone,
            MaskMethod::Username,
            MaskMethod::Redact,
        ] {
            let once = method.mask(&a, &alice);
            assert_eq!(once, method.mask(&a, &alice), "{method}");
            assert!(method.is_masked(&once), "{method}: {once}");
            assert_eq!(method.mask(&a, &once), once, "{method}");
            assert!(!method.is_masked(&alice), "{method}");
            let Value::Text(t) = &once else { panic!() };
            assert!(t.chars().count() <= method.longest(), "{method}: {t}");
            if method != MaskMethod::Redact {
                assert_ne!(once, method.mask(&b, &alice), "{method}");
            }
        }
        // Emails compare without case, and the method separates values.
        assert_eq!(
            MaskMethod::Email.mask(&a, &Value::Text("alice.martin@customer.example".into())),
            MaskMethod::Email.mask(&a, &alice)
        );
        assert_ne!(
            MaskMethod::Name
                .mask(&a, &Value::Text("x".into()))
                .to_string(),
            MaskMethod::Username
                .mask(&a, &Value::Text("x".into()))
                .to_string()
        );
    }

    /// Nothing is invented where there was nothing.
    #[test]
    fn null_and_empty_stay() {
        let k = key("0123456789abcdef");
        for method in [MaskMethod::Name, MaskMethod::Email, MaskMethod::Phone] {
            assert_eq!(method.mask(&k, &Value::Null), Value::Null);
            assert_eq!(
                method.mask(&k, &Value::Text(String::new())),
                Value::Text(String::new())
            );
            assert_eq!(
                method.mask(&k, &Value::Text("  ".into())),
                Value::Text("  ".into())
            );
        }
        assert_eq!(
            MaskMethod::Null.mask(&k, &Value::Text("x".into())),
            Value::Null
        );
    }

    /// Methods are written by name, `null`, or `{constant: V}`; a short key is refused and a
    /// key is never printed.
    #[test]
    fn spec_forms_and_keys() {
        let m: std::collections::BTreeMap<String, MaskMethod> =
            serde_yaml::from_str("{A: name, B: null, C: {constant: x}, D: email}").unwrap();
        assert_eq!(m["A"], MaskMethod::Name);
        assert_eq!(m["B"], MaskMethod::Null);
        assert_eq!(m["C"], MaskMethod::Constant(Value::Text("x".into())));
        assert!(serde_yaml::from_str::<MaskMethod>("scramble").is_err());
        assert_eq!(MaskKey::new("short"), Err(WeakKey(5)));
        assert_eq!(
            format!("{:?}", key("0123456789abcdef-secret")),
            "MaskKey(…)"
        );
    }
}
