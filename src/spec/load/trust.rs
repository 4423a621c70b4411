//! Whether an included capture is signed by a key the spec trusts.

use super::problem_at;
use super::CaptureSource;
use crate::spec::{ProblemCode, SpecProblem};
use crate::state::desired::Trust;

/// Why a captured file is not trusted, when the spec lists `trust.signers`: unsigned, or
/// signed by none of them, or altered since.
pub(super) fn untrusted(source: &CaptureSource, trust: &Trust) -> Option<SpecProblem> {
    use base64::Engine as _;
    let (captured, origin) = (&source.captured, &source.origin);
    if trust.signers.is_empty() {
        return None;
    }
    let problem = |message: String| {
        problem_at(
            origin,
            "captured.signature",
            ProblemCode::UntrustedCapture,
            message,
            Some("capture again with --signing-key (a key trust.signers lists), and commit the file as written".into()),
        )
    };
    if !source.others.is_empty() {
        return Some(problem(format!(
            "this capture's file also declares {}, which its signature does not cover; a capture file holds `captured:` only",
            source.others.join(", ")
        )));
    }
    let Some(signature) = &captured.signature else {
        return Some(problem(
            "this capture is not signed, and the spec trusts only captures its trust.signers signed".into(),
        ));
    };
    let sig = base64::engine::general_purpose::STANDARD
        .decode(signature.sig.as_bytes())
        .unwrap_or_default();
    let bytes = captured.signed_bytes();
    let trusted = trust
        .signers
        .iter()
        .filter_map(|s| crate::signing::TrustedKey::parse(s).ok())
        .any(|k| k.verifies(&bytes, &sig));
    (!trusted).then(|| {
        problem(format!(
            "this capture's signature (by {}) does not verify with a key of trust.signers: it was altered after it was signed, or signed by a key the spec does not trust",
            signature.keyid.escape_debug()
        ))
    })
}
