//! Includes: a built-in profile by name, or a spec file relative to the including one, each
//! judged by what it resolves to, bounded in number and depth.

use std::path::{Path, PathBuf};

use super::{comparable, problem_at, Loader, Parts};
use crate::profile;
use crate::spec::{builtin_path, ProblemCode};
use crate::state::desired::Origin;

/// The most files and profiles one spec includes, all levels together: a spec that includes
/// more (files that each include the next twice) would load for ever.
const MAX_INCLUDES: usize = 256;

/// The longest chain of files each including the next: every level is a call of its own.
const MAX_INCLUDE_DEPTH: usize = 32;

/// An include refused at `at`, with what to do instead.
fn refused(at: &Origin, message: String, help: &str) -> crate::spec::SpecProblem {
    problem_at(
        at,
        "include",
        ProblemCode::Include,
        message,
        Some(help.to_string()),
    )
}

impl Loader {
    /// The text of an included file (its link resolved to a spec file, read within bounds) or
    /// built-in profile, with its path and the directory its own includes are relative to;
    /// `None`, a problem recorded, when there is none to read.
    fn included_text(
        &mut self,
        name: &str,
        is_file: bool,
        at: &Origin,
        base_dir: &Path,
    ) -> Option<(PathBuf, String, PathBuf)> {
        let refuse = |message: String, help: &str| refused(at, message, help);
        Some(if is_file {
            let path = base_dir.join(name);
            // The file a link points at is what is included: its name must be a spec's too.
            if let Ok(target) = crate::files::resolve(&path) {
                if !crate::files::is_yaml_name(&target) {
                    self.problems.push(refuse(
                        format!(
                            "`{name}` resolves to {}, which is not a spec file: an included file ends in .yaml or .yml",
                            target.display()
                        ),
                        "include spec files only; a link must point at one",
                    ));
                    return None;
                }
            }
            match crate::files::read_text(&path, crate::files::MAX_TEXT) {
                Ok(text) => {
                    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                    (path, text, dir)
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound
                        && self.writing.as_deref() == Some(comparable(&path).as_path()) =>
                {
                    return None;
                }
                Err(e) => {
                    self.problems.push(problem_at(
                        at,
                        "include",
                        ProblemCode::Include,
                        format!("cannot read included file {}: {e}", path.display()),
                        None,
                    ));
                    return None;
                }
            }
        } else {
            match profile::get(name) {
                Some(text) => (builtin_path(name), text.to_string(), base_dir.to_path_buf()),
                None => {
                    self.problems.push(problem_at(
                        at,
                        "include",
                        ProblemCode::Include,
                        format!("unknown built-in profile `{name}`"),
                        Some(format!(
                            "built-in profiles: {}; include a file with a relative path such as ./base.yaml",
                            profile::NAMES.join(", ")
                        )),
                    ));
                    return None;
                }
            }
        })
    }

    /// Loads one `include:` entry: a built-in profile by name, or a file relative to the
    /// including one.
    pub(super) fn include(
        &mut self,
        name: &str,
        at: &Origin,
        base_dir: &Path,
        stack: &mut Vec<PathBuf>,
    ) -> Parts {
        let is_file = name.contains('/') || name.ends_with(".yaml") || name.ends_with(".yml");
        self.included += 1;
        let refuse = |message: String, help: &str| refused(at, message, help);
        if self.included > MAX_INCLUDES {
            if self.included == MAX_INCLUDES + 1 {
                self.problems.push(refuse(
                    format!("more than {MAX_INCLUDES} files and profiles included"),
                    "include each file once, from the spec that needs it",
                ));
            }
            return Parts::default();
        }
        // Only specs are read: an error in any other file would show its lines.
        if is_file && !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            self.problems.push(refuse(
                format!("`{name}` is not a spec file: an included file ends in .yaml or .yml"),
                "include spec files only",
            ));
            return Parts::default();
        }
        let Some((path, text, dir)) = self.included_text(name, is_file, at, base_dir) else {
            return Parts::default();
        };
        let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if stack.len() > MAX_INCLUDE_DEPTH {
            self.problems.push(refuse(
                format!(
                    "{} is included more than {MAX_INCLUDE_DEPTH} files deep",
                    path.display()
                ),
                "include the files a spec needs from the spec itself, not each from the last",
            ));
            return Parts::default();
        }
        if stack.contains(&key) {
            self.problems.push(problem_at(
                at,
                "include",
                ProblemCode::Include,
                format!("{} includes itself", path.display()),
                Some("remove the include that closes the loop".into()),
            ));
            return Parts::default();
        }
        stack.push(key);
        let parts = self.file(&path, &text, &dir, stack);
        stack.pop();
        parts
    }
}
