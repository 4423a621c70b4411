//! The clone attestation: after an apply, a signed statement of what it did and did not do,
//! that anyone can check later without trusting postclone.
//!
//! The format is the one supply-chain tools already verify: an in-toto Statement v1
//! (`https://in-toto.io/Statement/v1`) whose subject is the database and the apply's journal,
//! wrapped in a DSSE envelope (`application/vnd.in-toto+json`) signed with Ed25519 over DSSE's
//! pre-authentication encoding. Its predicate states, per area, what an auditor asks: the
//! guard, the spec and plan, each change's result, the read-only reports (the quarantine's), values naming
//! production, masking with the copies scan's coverage, the carry, the manual steps left to
//! people and what postclone does not cover. It holds names, counts and digests: never a
//! secret or personal value, nor any value read from a row.

use std::path::Path;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::apply::ApplyReport;
use crate::plan::Plan;
use crate::signing::{SigningKey, TrustedKey};
use crate::state::desired::Desired;

/// The envelope's payload type (in-toto's).
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// The predicate type of a postclone clone attestation.
pub const PREDICATE_TYPE: &str = "https://postclone.dev/attestation/clone/v0.1";

/// How the apply ended, as the attestation states it.
#[derive(Debug, Clone)]
pub enum Ending<'a> {
    /// Nothing to run: the plan made now (the guard checked) had no change to make; it may
    /// still list values naming production or copies of masked values.
    Unchanged,
    /// Committed and re-inspected: `report.after` says what still differs.
    Applied(&'a ApplyReport),
    /// Stopped: the error's message (secrets masked, as every error is), and the changes
    /// whose statements ran before it (rolled back) and never ran.
    Failed {
        /// The message.
        message: String,
        /// The change that failed, if one did.
        failed: Option<String>,
        /// Changes rolled back.
        rolled_back: Vec<String>,
        /// The guard refused the database: nothing ran.
        refused: bool,
    },
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Always [`PAYLOAD_TYPE`].
    pub payload_type: String,
    /// The statement, base64.
    pub payload: String,
    /// Signatures over the pre-authentication encoding.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// The signer's key fingerprint (`SHA256:...`, as `ssh-keygen -l` prints it).
    pub keyid: String,
    /// The Ed25519 signature, base64.
    pub sig: String,
}

/// Why an attestation does not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The file is not a DSSE envelope.
    #[error("not a DSSE envelope ({0})")]
    NotAnEnvelope(String),
    /// Its payload type is not in-toto's.
    #[error("its payload type is {0:?}, not {PAYLOAD_TYPE:?}")]
    PayloadType(String),
    /// No trusted key is given to check it with.
    #[error("no trusted key: give --signer 'ssh-ed25519 AAAA...' or a spec with trust.signers")]
    NoTrustedKey,
    /// No signature verifies with a trusted key.
    #[error("no signature verifies with a trusted key ({signed_by}): the attestation was altered, or signed by a key this check does not trust")]
    Signature {
        /// The key ids the envelope names.
        signed_by: String,
    },
    /// The payload is not a postclone clone attestation.
    #[error("the signed payload is not a postclone clone attestation ({0})")]
    NotAStatement(String),
}

/// A verified attestation.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The key that signed it.
    pub keyid: String,
    /// The statement.
    pub statement: serde_json::Value,
}

/// DSSE's pre-authentication encoding of `body` of type `payload_type`: what is signed.
#[must_use]
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    crate::state::value::hex(&Sha256::digest(bytes))
}

/// The digest an attestation gives the spec it was made from: the SHA-256 of the declaration
/// as postclone reads it (includes and profiles resolved, `--target`/`--exclude` applied),
/// whichever directory it was read from, so that `verify --spec` can check a checkout of the
/// same spec against it on another machine.
///
/// # Errors
/// A declaration that cannot be written out.
pub fn spec_digest(desired: &Desired) -> Result<String, serde_json::Error> {
    let anywhere = Desired {
        base_dir: std::path::PathBuf::new(),
        ..desired.clone()
    };
    Ok(sha256_hex(&serde_json::to_vec(&anywhere)?))
}

/// The summary's detail: what ran and what remains.
fn detail(plan: &Plan, ending: &Ending<'_>, converged: bool) -> String {
    match ending {
        Ending::Unchanged => format!(
            "nothing to run; {}",
            if converged {
                "a new plan shows no changes".to_string()
            } else {
                format!(
                    "{} values naming production and {} copies of masked values remain",
                    plan.hits(),
                    plan.copies.as_ref().map_or(0, |c| c.found)
                )
            }
        ),
        Ending::Applied(report) => format!(
            "{} changes committed, {} rows journaled; {}",
            report.applied.len(),
            report.journaled,
            if converged {
                "a new plan shows no changes".to_string()
            } else {
                format!(
                    "{} changes, {} values naming production and {} copies of masked values remain",
                    report.after.steps.len(),
                    report.after.hits(),
                    report.after.copies.as_ref().map_or(0, |c| c.found)
                )
            }
        ),
        Ending::Failed { message, .. } => message.clone(),
    }
}

/// What the guard checked, and how it ended.
fn guard(desired: &Desired, ending: &Ending<'_>) -> serde_json::Value {
    json!({
        "result": if matches!(ending, Ending::Failed { refused: true, .. }) { "refused" } else { "passed" },
        "expected_database": desired.guard.database,
        "forbidden_databases": desired.guard.forbid_databases.iter()
            .chain(&desired.production.databases).collect::<Vec<_>>(),
        "forbidden_hosts": desired.guard.forbid_hosts,
        "production_hosts": desired.production.hosts.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "checked": if desired.front_ends.is_some() {
            "the database the server reports, the server's own name, the host connected to and the platform's front-end list, before anything ran"
        } else {
            "the database the server reports, the server's own name and the host connected to, before anything ran"
        },
    })
}

/// Why an attestation's statement could not be made.
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    /// The journal the apply wrote cannot be read.
    #[error("the journal {} cannot be read for the attestation's digest", path.display())]
    Journal {
        /// The journal.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The spec cannot be written out to be digested.
    #[error("the spec cannot be written out for the attestation's digest")]
    Spec(#[source] serde_json::Error),
}

/// The statement of an apply of `plan` (made from `desired`) that ended as `ending`, with
/// `journal` (its file, when one was written), between `started` and `finished` (UTC).
///
/// `desired` is the spec as declared (what the user wrote and can have digested again), never
/// what inspection resolved it into.
///
/// # Errors
/// A journal that was written and cannot be read whole, or a spec that cannot be written out:
/// an attestation never leaves out the digest of the journal or the spec it names.
pub fn statement(
    desired: &Desired,
    plan: &Plan,
    ending: &Ending<'_>,
    journal: Option<&Path>,
    times: (&str, &str),
) -> Result<serde_json::Value, StatementError> {
    let journal_digest = journal
        .map(|path| {
            journal_digest(path).map_err(|source| StatementError::Journal {
                path: path.to_path_buf(),
                source,
            })
        })
        .transpose()?;
    let spec_digest = spec_digest(desired).map_err(StatementError::Spec)?;
    let changes: Vec<serde_json::Value> = plan
        .steps
        .iter()
        .map(|step| {
            json!({
                "id": step.id.to_string(),
                "action": step.what(),
                "table": step.table().map(|t| t.table.to_string()),
                "rows": step.rows.count,
                "secret": step.secret,
                "personal": step.personal,
                "result": change_result(step.id.as_str(), ending),
            })
        })
        .collect();
    let plan_digest = sha256_hex(&serde_json::to_vec(&changes).unwrap_or_default());
    let (result, converged, after) = match ending {
        Ending::Unchanged if plan.is_empty() => ("converged", true, Some(plan)),
        Ending::Unchanged => ("not converged", false, Some(plan)),
        Ending::Applied(report) if report.converged() => ("converged", true, Some(&report.after)),
        Ending::Applied(report) => ("not converged", false, Some(&report.after)),
        Ending::Failed { .. } => ("failed", false, None),
    };
    let subject_digest = journal_digest
        .clone()
        .unwrap_or_else(|| plan_digest.clone());
    Ok(json!({
        "_type": STATEMENT_TYPE,
        "subject": [{
            "name": format!("{}://{}/{}", engine_name(desired), plan.target.server, plan.target.database),
            "digest": { "sha256": subject_digest },
        }],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "summary": {
                "verdict": if converged { "PASSED" } else { "FAILED" },
                "result": result,
                "detail": detail(plan, ending, converged),
            },
            "postclone": { "version": env!("CARGO_PKG_VERSION") },
            "started": times.0,
            "finished": times.1,
            "target": {
                "engine": engine_name(desired),
                "server": plan.target.server,
                "database": plan.target.database,
            },
            "guard": guard(desired, ending),
            "spec": {
                "sha256": spec_digest,
                "profiles": profiles(desired),
            },
            "plan": { "sha256": plan_digest, "changes": changes },
            "journal": {
                "file": journal.map(|p| p.display().to_string()),
                "sha256": journal_digest,
                "integrity": "every line chained with HMAC-SHA-256 under a key derived from the plan key",
            },
            "reports": plan.reports.iter().map(|r| json!({
                "id": r.id.to_string(),
                "count": r.count,
            })).collect::<Vec<_>>(),
            "production_references": references(plan, after),
            "masking": masking(plan, after),
            "carry": carry(desired, plan),
            "manual_steps": plan.manual.iter().map(|m| json!({
                "id": m.id.to_string(),
                "title": m.title,
            })).collect::<Vec<_>>(),
            "not_covered": NOT_COVERED,
        }
    }))
}

/// The SHA-256 of the journal at `path`, streamed: a journal can be far larger than memory
/// should hold. Read as a regular file, symlinks refused, like every file postclone reads.
fn journal_digest(path: &Path) -> std::io::Result<String> {
    let mut file = crate::files::open_regular(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut file, &mut h)?;
    Ok(crate::state::value::hex(&h.finalize()))
}

/// What an attestation never claims, in every one.
const NOT_COVERED: [&str; 5] = [
    "values in tables and columns no resource names, except the copies scan's text columns when the plan masks",
    "files, application servers, caches and message queues outside the platform database",
    "what the manual steps listed leave to people: they are listed, not verified",
    "changes made to the database after this apply (`postclone plan --detailed-exitcode` shows them)",
    "custom checks and fixes beyond the rows their own check returns",
];

fn engine_name(desired: &Desired) -> &'static str {
    match desired.engine {
        crate::state::desired::EngineKind::Sqlserver => "sqlserver",
        crate::state::desired::EngineKind::Oracle => "oracle",
    }
}

fn change_result(id: &str, ending: &Ending<'_>) -> &'static str {
    match ending {
        Ending::Unchanged => "not run",
        Ending::Applied(report) if report.applied.iter().any(|a| a.as_str() == id) => "committed",
        Ending::Applied(_) => "not run",
        Ending::Failed {
            failed,
            rolled_back,
            ..
        } => {
            if failed.as_deref() == Some(id) {
                "failed, rolled back"
            } else if rolled_back.iter().any(|r| r == id) {
                "rolled back"
            } else {
                "not run"
            }
        }
    }
}

/// The built-in profiles the spec includes (where its resources come from), with the digest
/// of the text shipped.
fn profiles(desired: &Desired) -> Vec<serde_json::Value> {
    let mut names: Vec<&str> = desired
        .resources
        .iter()
        .filter_map(|r| r.origin.file.to_str()?.strip_prefix("builtin:"))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            json!({
                "name": name,
                "sha256": crate::profile::get(name).map(|t| sha256_hex(t.as_bytes())),
            })
        })
        .collect()
}

fn references(plan: &Plan, after: Option<&Plan>) -> serde_json::Value {
    let hits: usize = plan.hits();
    let fixed = plan
        .findings
        .iter()
        .flat_map(|f| &f.hits)
        .filter(|h| h.fixed_by.is_some())
        .count();
    json!({
        "checks": plan.findings.iter().map(|f| f.id.to_string()).collect::<std::collections::BTreeSet<_>>(),
        "tables_with_hits": plan.findings.iter().map(|f| f.table.to_string()).collect::<std::collections::BTreeSet<_>>(),
        "values_naming_production_before": hits,
        "fixed_by_the_spec": fixed,
        "remaining_after": after.map(Plan::hits),
    })
}

fn masking(plan: &Plan, after: Option<&Plan>) -> serde_json::Value {
    let masks = plan.steps.iter().any(crate::change::Change::masks);
    if !masks {
        return json!({ "masked": false });
    }
    let copies = plan.copies.as_ref().map(|c| {
        json!({
            "attributes": c.masked,
            "originals": c.originals,
            "tables_scanned": c.tables_scanned,
            "columns_scanned": c.columns_scanned,
            "rows_scanned": c.rows_scanned,
            "copies_found": c.found,
            "copies_not_covered": c.found_uncovered,
            "not_scanned": c.not_scanned.iter().map(|n| json!({
                "table": n.table.to_string(),
                "column": n.column,
                "why": n.reason,
            })).collect::<Vec<_>>(),
        })
    });
    json!({
        "masked": true,
        "key_fingerprint": plan.steps.iter().find_map(|s| s.mask_key.as_ref()).map(crate::state::masking::MaskKey::fingerprint),
        "changes": plan.steps.iter().filter(|s| s.masks()).map(|s| s.id.to_string()).collect::<Vec<_>>(),
        "copies_scan": copies,
        "copies_remaining_after": after.map(|a| a.copies.as_ref().map_or(0, |c| c.found)),
    })
}

fn carry(desired: &Desired, plan: &Plan) -> serde_json::Value {
    let carried: Vec<String> = desired
        .resources
        .iter()
        .filter(|r| matches!(r.kind, crate::state::ResourceKind::Carried(_)))
        .map(|r| r.id.to_string())
        .collect();
    json!({
        "captured_from": desired.captured.as_ref().map(|c| json!({
            "server": c.from.server,
            "database": c.from.database,
            "at": c.from.at,
        })),
        "resources": carried,
        "changes": plan.steps.iter()
            .filter(|s| carried.iter().any(|c| s.id.as_str() == c || s.id.as_str().starts_with(&format!("{c}."))))
            .map(|s| json!({ "id": s.id.to_string(), "rows": s.rows.count }))
            .collect::<Vec<_>>(),
    })
}

/// `statement` signed with `key`, as the envelope's JSON text.
#[must_use]
pub fn envelope(statement: &serde_json::Value, key: &SigningKey) -> String {
    let body = serde_json::to_vec(statement).unwrap_or_default();
    let signature = key.sign(&pae(PAYLOAD_TYPE, &body));
    let b64 = base64::engine::general_purpose::STANDARD;
    let envelope = Envelope {
        payload_type: PAYLOAD_TYPE.into(),
        payload: b64.encode(&body),
        signatures: vec![EnvelopeSignature {
            keyid: key.public().keyid(),
            sig: b64.encode(signature),
        }],
    };
    serde_json::to_string_pretty(&envelope).unwrap_or_default() + "\n"
}

/// Checks an envelope's text against `trusted` keys.
///
/// # Errors
/// Not an envelope, another payload type, no trusted key, no signature a trusted key
/// verifies, or a payload that is not a clone attestation.
pub fn verify(text: &str, trusted: &[TrustedKey]) -> Result<Verified, VerifyError> {
    let envelope: Envelope = serde_json::from_str(text)
        .map_err(|e| VerifyError::NotAnEnvelope(crate::files::json_problem(&e)))?;
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(VerifyError::PayloadType(envelope.payload_type));
    }
    if trusted.is_empty() {
        return Err(VerifyError::NoTrustedKey);
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = b64
        .decode(envelope.payload.as_bytes())
        .map_err(|_| VerifyError::NotAnEnvelope("its payload is not base64".into()))?;
    let signed = pae(&envelope.payload_type, &body);
    let keyid = envelope.signatures.iter().find_map(|s| {
        let sig = b64.decode(s.sig.as_bytes()).ok()?;
        trusted
            .iter()
            .find(|k| k.verifies(&signed, &sig))
            .map(TrustedKey::keyid)
    });
    let Some(keyid) = keyid else {
        return Err(VerifyError::Signature {
            signed_by: envelope
                .signatures
                .iter()
                .map(|s| crate::render::printable(&s.keyid))
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let statement: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| VerifyError::NotAStatement(crate::files::json_problem(&e)))?;
    if statement["_type"] != STATEMENT_TYPE || statement["predicateType"] != PREDICATE_TYPE {
        return Err(VerifyError::NotAStatement(
            "another statement or predicate type".into(),
        ));
    }
    Ok(Verified { keyid, statement })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DSSE's encoding as its specification spells it.
    #[test]
    fn pre_authentication_encoding() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    /// A journal that was written is attested by its digest, or the attestation is not made:
    /// one that cannot be read (here a directory where the file should be) is an error, never
    /// a statement without the journal's digest.
    #[test]
    fn a_journal_that_cannot_be_read_is_never_left_out() {
        use crate::test_support::{desired, observed};
        let desired = desired(vec![]);
        let plan = crate::plan::build(
            &crate::state::Resolved::new(desired.clone().into_stage()),
            &observed(vec![]),
            &crate::sql::Flavor::SqlServer.dialect(),
            None,
        )
        .expect("an empty plan");
        let dir = tempfile::tempdir().expect("temp dir");
        let times = ("2026-12-04T06:00:00Z", "2026-12-04T06:00:01Z");
        let unreadable = statement(&desired, &plan, &Ending::Unchanged, Some(dir.path()), times);
        assert!(unreadable.is_err(), "{unreadable:?}");
        let journal = dir.path().join("j.jsonl");
        std::fs::write(&journal, "line\n").expect("journal");
        let attested = statement(&desired, &plan, &Ending::Unchanged, Some(&journal), times)
            .expect("a readable journal");
        assert_eq!(
            attested["predicate"]["journal"]["sha256"],
            serde_json::json!(sha256_hex(b"line\n"))
        );
        assert_eq!(
            attested["subject"][0]["digest"]["sha256"],
            attested["predicate"]["journal"]["sha256"]
        );
    }
}
