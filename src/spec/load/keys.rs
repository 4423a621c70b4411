//! The keys a spec names, checked as it is read: signers are OpenSSH ed25519 public keys,
//! recipients age public keys, and `masking.key_from` a reference to where the masking key is
//! kept, never the key.

use super::{FileCtx, Loader};
use crate::spec::source_map;
use crate::spec::ProblemCode;
use crate::state::desired::{JournalSettings, Masking, Trust};

impl Loader {
    /// Every `trust.signers` entry is an OpenSSH ed25519 public key.
    pub(super) fn check_signers(&mut self, ctx: &FileCtx<'_>, trust: Option<&Trust>) {
        for (i, s) in trust.iter().flat_map(|t| t.signers.iter()).enumerate() {
            if let Err(e) = crate::signing::TrustedKey::parse(s) {
                let at = source_map::index("trust.signers", i);
                self.problems.push(ctx.problem(
                    ctx.map.value(&at),
                    &at,
                    ProblemCode::InvalidField,
                    e.to_string(),
                    None,
                ));
            }
        }
    }

    /// `masking.key_from` names where the key is kept (`env:`, `file:`, `exec:`), never the key.
    pub(super) fn check_key_from(&mut self, ctx: &FileCtx<'_>, masking: Option<&Masking>) {
        let Some(text) = masking.and_then(|m| m.key_from.as_deref()) else {
            return;
        };
        let message = match crate::secret::Reference::parse(text) {
            Some(Ok(_)) => return,
            Some(Err(e)) => e.to_string(),
            None => {
                "`masking.key_from` names where the masking key is kept; it is not the key".into()
            }
        };
        let mut problem = ctx.problem(
            ctx.map.value("masking.key_from"),
            "masking.key_from",
            ProblemCode::InvalidField,
            message,
            Some(
                "write env:NAME, file:PATH or exec:COMMAND ARGS... (README, Secrets by reference)"
                    .into(),
            ),
        );
        // The line may hold the key itself: it is never quoted back.
        problem.source_line = None;
        self.problems.push(problem);
    }

    /// Every `journal.recipients` entry is an age public key.
    pub(super) fn check_recipients(
        &mut self,
        ctx: &FileCtx<'_>,
        journal: Option<&JournalSettings>,
    ) {
        for (i, r) in journal.iter().flat_map(|j| j.recipients.iter()).enumerate() {
            if r.parse::<age::x25519::Recipient>().is_err() {
                let at = source_map::index("journal.recipients", i);
                self.problems.push(ctx.problem(
                    ctx.map.value(&at),
                    &at,
                    ProblemCode::InvalidField,
                    format!("{r:?} is not an age public key"),
                    Some(
                        "write the `age1...` line that age-keygen prints as \"public key\"".into(),
                    ),
                ));
            }
        }
    }
}
