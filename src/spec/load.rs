//! Reading spec files: YAML → typed parts, one key and one resource at a time, so that every
//! problem of a file is reported at once; then includes, excludes and cross-resource checks.

use std::path::{Path, PathBuf};

mod include;
mod keys;
mod trust;

use serde_yaml::{Mapping, Value as Yaml};

use super::resource::kind_of;
use super::source_map::{self, Position, SourceMap, StructureProblem};
use super::validate;
use super::{Error, ProblemCode, SpecProblem};
use crate::datapump::DataPump;
use crate::profile;
use crate::state::desired::{
    AttestationSettings, Captured, CarrySettings, Desired, EngineKind, EntityCatalog, FrontEnds,
    Guard, JournalSettings, ManualStep, Masking, Origin, Production, Resource, ResourceId,
    ScanScope, SecretRows, TableName, Trust,
};

/// A spec as loaded: what it declares, and the connection it names, kept apart because it may
/// hold a password: nothing the spec declares is written out with it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// What the spec declares.
    pub desired: Desired,
    /// The spec's `connection:` (after includes, before `${env:..}` is replaced), if any.
    pub connection: Option<String>,
}

/// Loads, merges and validates the spec at `path` and everything it includes.
///
/// # Errors
/// [`Error::Read`] when the file cannot be read; [`Error::Invalid`] with every problem found.
pub fn load(path: &Path) -> Result<Desired, Error> {
    Ok(load_target(path)?.desired)
}

/// Loads the spec at `path` as [`load`] does, with the connection it names.
///
/// # Errors
/// As [`load`].
pub fn load_target(path: &Path) -> Result<Loaded, Error> {
    let text =
        crate::files::read_text(path, crate::files::MAX_TEXT).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
    load_with(path, &text, Loader::default())
}

/// Loads a spec from text; `path` names it in messages and anchors relative includes.
///
/// # Errors
/// [`Error::Invalid`] with every problem found.
pub fn load_str(path: &Path, text: &str) -> Result<Desired, Error> {
    Ok(load_with(path, text, Loader::default())?.desired)
}

/// Loads the spec at `path` for `postclone capture`, which writes `out`: an include of `out`
/// that does not exist yet (the first capture) is left out instead of being an error.
///
/// # Errors
/// As [`load`].
pub fn load_for_capture(path: &Path, out: &Path) -> Result<Loaded, Error> {
    let text =
        crate::files::read_text(path, crate::files::MAX_TEXT).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
    let loader = Loader {
        writing: Some(comparable(out)),
        ..Loader::default()
    };
    load_with(path, &text, loader)
}

/// A path as compared with another that may not exist yet: its directory resolved, its file
/// name as written.
fn comparable(path: &Path) -> PathBuf {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.map_or_else(
        || std::env::current_dir().unwrap_or_default(),
        |d| std::fs::canonicalize(d).unwrap_or_else(|_| d.to_path_buf()),
    );
    path.file_name().map_or(dir.clone(), |name| dir.join(name))
}

fn load_with(path: &Path, text: &str, mut loader: Loader) -> Result<Loaded, Error> {
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut stack = vec![path.to_path_buf()];
    let parts = loader.file(path, text, &base_dir, &mut stack);
    let desired = loader.finish(path, parts, base_dir);
    if loader.problems.is_empty() {
        if let Some(desired) = desired {
            return Ok(desired);
        }
    }
    Err(Error::Invalid {
        file: path.to_path_buf(),
        problems: loader.problems,
    })
}

/// A resource with the places its cross-references are written.
pub(super) struct Located<T> {
    pub(super) item: T,
    pub(super) origin: Origin,
    /// For resources: where each `after:` entry is written.
    pub(super) after_origins: Vec<Origin>,
}

/// What one file (with its includes, already merged) contributes.
#[derive(Default)]
struct Parts {
    engine: Option<EngineKind>,
    connection: Option<(String, Origin)>,
    guard: Option<Guard>,
    front_ends: Option<FrontEnds>,
    production: Option<Production>,
    configuration_values: Vec<ScanScope>,
    secret_rows: Vec<SecretRows>,
    entities: Option<EntityCatalog>,
    masking: Option<Masking>,
    journal: Option<JournalSettings>,
    event_queues: Vec<TableName>,
    datapump: Option<(DataPump, Origin)>,
    captured: Option<Captured>,
    /// Each captured file as written (its signature checked once the spec's trust is known).
    sources: Vec<CaptureSource>,
    carry: Option<CarrySettings>,
    trust: Option<Trust>,
    attestation: Option<AttestationSettings>,
    exclude: Vec<Located<ResourceId>>,
    resources: Vec<Located<Resource>>,
    manual: Vec<Located<ManualStep>>,
}

impl Parts {
    /// Appends `own` after `self` (the includes); `own` settings win.
    fn then(mut self, own: Parts) -> Parts {
        self.engine = own.engine.or(self.engine);
        self.connection = own.connection.or(self.connection);
        self.guard = own.guard.or(self.guard);
        self.front_ends = own.front_ends.or(self.front_ends);
        self.production = own.production.or(self.production);
        self.configuration_values.extend(own.configuration_values);
        self.secret_rows.extend(own.secret_rows);
        self.entities = own.entities.or(self.entities);
        self.masking = own.masking.or(self.masking);
        self.journal = own.journal.or(self.journal);
        self.carry = own.carry.or(self.carry);
        self.trust = own.trust.or(self.trust);
        self.attestation = own.attestation.or(self.attestation);
        for q in own.event_queues {
            if !self.event_queues.contains(&q) {
                self.event_queues.push(q);
            }
        }
        self.datapump = own.datapump.or(self.datapump);
        // Captures of several files add up; a resource captured twice keeps the later rows.
        self.captured = match (self.captured, own.captured) {
            (Some(mut all), Some(more)) => {
                all.rows.extend(more.rows);
                // Each file's signature was checked on its own; the union has none.
                all.signature = None;
                Some(all)
            }
            (all, more) => more.or(all),
        };
        self.sources.extend(own.sources);
        self.exclude.extend(own.exclude);
        // Two profiles may declare the same thing (the email queue is emptied by the
        // quarantine and by the personal-data profile): one identical declaration is kept, a
        // different one under the same id stays a duplicate-id problem.
        for r in own.resources {
            if !self
                .resources
                .iter()
                .any(|e| e.item.same_declaration(&r.item))
            {
                self.resources.push(r);
            }
        }
        for m in own.manual {
            if !self.manual.iter().any(|e| e.item == m.item) {
                self.manual.push(m);
            }
        }
        self
    }
}

/// A captured file as written: its capture, where its `from:` is, and the other top-level
/// keys its file declares.
#[derive(Clone)]
struct CaptureSource {
    captured: Captured,
    origin: Origin,
    others: Vec<String>,
}

/// Locates problems in one file.
pub(super) struct FileCtx<'a> {
    pub(super) file: PathBuf,
    pub(super) map: SourceMap,
    pub(super) lines: Vec<&'a str>,
}

impl FileCtx<'_> {
    pub(super) fn origin(&self, at: Option<Position>) -> Origin {
        let p = at.unwrap_or(Position { line: 0, column: 0 });
        Origin {
            file: self.file.clone(),
            line: p.line,
            column: p.column,
        }
    }

    pub(super) fn problem(
        &self,
        at: Option<Position>,
        field: &str,
        code: ProblemCode,
        message: String,
        help: Option<String>,
    ) -> SpecProblem {
        let origin = self.origin(at);
        SpecProblem {
            source_line: origin
                .line
                .checked_sub(1)
                .and_then(|i| self.lines.get(i))
                .map(|l| shown_line(l)),
            file: origin.file,
            line: origin.line,
            column: origin.column,
            field: field.to_string(),
            code,
            message,
            help,
        }
    }
}

#[derive(Default)]
pub(super) struct Loader {
    pub(super) problems: Vec<SpecProblem>,
    /// The file `postclone capture` is about to write: the spec may include it, and before
    /// the first capture it does not exist yet.
    pub(super) writing: Option<PathBuf>,
    /// Files and profiles included so far.
    pub(super) included: usize,
}

/// The top-level keys the loader reads; `SpecFile` documents the same set.
pub(super) const TOP_LEVEL_KEYS: [&str; 20] = [
    "engine",
    "connection",
    "guard",
    "production",
    "front_ends",
    "configuration_values",
    "secret_rows",
    "entities",
    "event_queues",
    "masking",
    "journal",
    "include",
    "exclude",
    "resources",
    "manual",
    "datapump",
    "captured",
    "carry",
    "trust",
    "attestation",
];

impl Loader {
    /// Reads one file and, depth first, what it includes.
    fn file(
        &mut self,
        file: &Path,
        text: &str,
        base_dir: &Path,
        stack: &mut Vec<PathBuf>,
    ) -> Parts {
        // The structure is checked first, one parser event at a time: serde_yaml and the
        // source map only ever see a text of bounded depth and size.
        let mut ctx = FileCtx {
            file: file.to_path_buf(),
            map: SourceMap::default(),
            lines: Vec::new(),
        };
        match SourceMap::scan(text) {
            Ok(map) => ctx.map = map,
            // serde_yaml words syntax errors better; it parses without recursing and stops
            // at the error, before building anything.
            Err(s) if s.problem == StructureProblem::Syntax => {}
            Err(s) => {
                self.problems.push(ctx.problem(
                    Some(s.at).filter(|p| p.line > 0),
                    "",
                    ProblemCode::YamlSyntax,
                    s.problem.to_string(),
                    None,
                ));
                return Parts::default();
            }
        }
        let Some(mapping) = self.top_mapping(&ctx, text) else {
            return Parts::default();
        };
        // Only now is the text known to be a spec: a problem may show its lines. A file that
        // is not one (an environment, a key, /etc/passwd behind a `.yaml` name) is named by
        // its path and position only, never shown.
        ctx.lines = text.lines().collect();
        let mut own = Parts::default();
        let mut includes: Vec<(String, Origin)> = Vec::new();
        // A capture's signature covers its `captured:` only: what else its file declares is
        // no part of what was signed.
        let unsigned_keys: Vec<String> = mapping
            .keys()
            .filter_map(|k| k.as_str())
            .filter(|k| *k != "captured")
            .map(str::to_string)
            .collect();
        for (key, value) in mapping {
            let Some(key) = key.as_str().map(str::to_string) else {
                self.problems.push(ctx.problem(
                    ctx.map.value(""),
                    "",
                    ProblemCode::InvalidField,
                    "a top-level key is not a string".into(),
                    None,
                ));
                continue;
            };
            if key == "include" {
                let list: Vec<String> = self.typed(&ctx, "include", value).unwrap_or_default();
                for (i, name) in list.into_iter().enumerate() {
                    let at = ctx.origin(ctx.map.value(&source_map::index("include", i)));
                    includes.push((name, at));
                }
            } else {
                self.top_level(&ctx, &key, value, &mut own);
            }
        }
        for source in &mut own.sources {
            source.others.clone_from(&unsigned_keys);
        }
        let mut merged = Parts::default();
        for (name, at) in includes {
            merged = merged.then(self.include(&name, &at, base_dir, stack));
        }
        merged.then(own)
    }

    /// The file's document as a mapping of top-level keys; `None` (and a problem) when it is not
    /// YAML or not a mapping.
    fn top_mapping(&mut self, ctx: &FileCtx<'_>, text: &str) -> Option<Mapping> {
        let doc: Yaml = match serde_yaml::from_str(text) {
            Ok(doc) => doc,
            Err(e) => {
                let at = e.location().map(|l| Position {
                    line: l.line(),
                    column: l.column(),
                });
                self.problems.push(ctx.problem(
                    at,
                    "",
                    ProblemCode::YamlSyntax,
                    format!("not valid YAML: {}", strip_location(&e.to_string())),
                    None,
                ));
                return None;
            }
        };
        match doc {
            Yaml::Mapping(m) => Some(m),
            Yaml::Null => Some(Mapping::new()),
            other => {
                self.problems.push(ctx.problem(
                    ctx.map.value(""),
                    "",
                    ProblemCode::InvalidField,
                    format!("a spec is a mapping of keys, found {}", kind_of(&other)),
                    Some("start from the example in README.md".into()),
                ));
                None
            }
        }
    }

    /// Reads one top-level key (but `include`) into the file's own parts.
    fn top_level(&mut self, ctx: &FileCtx<'_>, key: &str, value: Yaml, own: &mut Parts) {
        match key {
            "engine" => own.engine = self.typed(ctx, "engine", value),
            "connection" => {
                own.connection = self
                    .typed::<String>(ctx, "connection", value)
                    .map(|c| (c, ctx.origin(ctx.map.value("connection"))));
            }
            "guard" => own.guard = self.typed(ctx, "guard", value),
            "front_ends" => own.front_ends = self.typed(ctx, "front_ends", value),
            "production" => own.production = self.typed(ctx, "production", value),
            "entities" => own.entities = self.typed(ctx, "entities", value),
            "masking" => {
                own.masking = self.typed::<Masking>(ctx, "masking", value);
                self.check_key_from(ctx, own.masking.as_ref());
            }
            "carry" => own.carry = self.typed(ctx, "carry", value),
            "attestation" => own.attestation = self.typed(ctx, "attestation", value),
            "trust" => {
                own.trust = self.typed::<Trust>(ctx, "trust", value);
                self.check_signers(ctx, own.trust.as_ref());
            }
            "journal" => {
                own.journal = self.typed::<JournalSettings>(ctx, "journal", value);
                self.check_recipients(ctx, own.journal.as_ref());
            }
            "event_queues" => {
                own.event_queues = self.typed(ctx, "event_queues", value).unwrap_or_default();
            }
            "secret_rows" => {
                own.secret_rows = self.typed(ctx, "secret_rows", value).unwrap_or_default();
            }
            "configuration_values" => {
                own.configuration_values = self
                    .typed(ctx, "configuration_values", value)
                    .unwrap_or_default();
            }
            "captured" => {
                own.captured = self.typed::<Captured>(ctx, "captured", value);
                if let Some(c) = &own.captured {
                    own.sources.push(CaptureSource {
                        captured: c.clone(),
                        origin: ctx.origin(ctx.map.value("captured.from")),
                        others: Vec::new(),
                    });
                }
            }
            "datapump" => {
                own.datapump = self
                    .typed::<DataPump>(ctx, "datapump", value)
                    .map(|d| (d, ctx.origin(ctx.map.value("datapump"))));
            }
            "exclude" => own
                .exclude
                .extend(self.located_items(ctx, "exclude", value)),
            "resources" => {
                for (i, item) in self
                    .sequence(ctx, "resources", value)
                    .into_iter()
                    .enumerate()
                {
                    if let Some(r) = self.resource(ctx, &source_map::index("resources", i), item) {
                        own.resources.push(r);
                    }
                }
            }
            "manual" => own.manual.extend(self.located_items(ctx, "manual", value)),
            other => self.problems.push(ctx.problem(
                ctx.map.key(other),
                other,
                ProblemCode::InvalidField,
                format!("unknown key `{other}`"),
                Some(format!("top-level keys are {}", TOP_LEVEL_KEYS.join(", "))),
            )),
        }
    }

    /// The items of the sequence at `key`, each read as `T` and located at its index.
    fn located_items<T: serde::de::DeserializeOwned>(
        &mut self,
        ctx: &FileCtx<'_>,
        key: &str,
        value: Yaml,
    ) -> Vec<Located<T>> {
        let mut out = Vec::new();
        for (i, item) in self.sequence(ctx, key, value).into_iter().enumerate() {
            let path = source_map::index(key, i);
            if let Some(item) = self.typed::<T>(ctx, &path, item) {
                out.push(Located {
                    item,
                    origin: ctx.origin(ctx.map.value(&path)),
                    after_origins: vec![],
                });
            }
        }
        out
    }

    /// What the merged parts must say together: connection references well formed, Data
    /// Pump settings only for Oracle and valid, every capture signed by a trusted key (when the
    /// spec trusts signers) and read from an environment the guard allows.
    fn check_parts(&mut self, parts: &Parts, engine: Option<EngineKind>) {
        if let Some((connection, origin)) = &parts.connection {
            if let Err(e) = super::interpolate::env_references(connection) {
                let message = e.to_string();
                self.problems.push(problem_at(
                    origin,
                    "connection",
                    ProblemCode::EnvVariable,
                    message,
                    Some("write ${env:NAME} with NAME made of letters, digits and _".into()),
                ));
            }
        }
        if let Some((datapump, origin)) = &parts.datapump {
            if engine != Some(EngineKind::Oracle) {
                self.problems.push(problem_at(
                    origin,
                    "datapump",
                    ProblemCode::InvalidField,
                    "`datapump:` is for `engine: oracle` only".into(),
                    None,
                ));
            }
            for p in datapump.problems() {
                self.problems.push(problem_at(
                    origin,
                    &format!("datapump.{}", p.field),
                    ProblemCode::InvalidField,
                    p.message,
                    None,
                ));
            }
        }
        let (guard, production) = (
            parts.guard.clone().unwrap_or_default(),
            parts.production.clone().unwrap_or_default(),
        );
        let trust = parts.trust.clone().unwrap_or_default();
        for source in &parts.sources {
            if let Some(problem) = trust::untrusted(source, &trust) {
                self.problems.push(problem);
            }
            let (from, origin) = (&source.captured.from, &source.origin);
            if let Some(forbidden) = guard.forbids_source(&production, &from.server, &from.database)
            {
                self.problems.push(problem_at(
                    origin,
                    "captured.from",
                    ProblemCode::ForbiddenSource,
                    format!(
                        "this capture was read from database {} on server {}, which the guard forbids ({forbidden}): it holds that environment's configuration, not this one's",
                        from.database, from.server
                    ),
                    Some("capture the environment this spec refreshes, before its clone".into()),
                ));
            }
        }
    }

    /// Merges the parts of the top-level file, runs the cross-resource checks and removes the
    /// excluded resources.
    fn finish(&mut self, file: &Path, parts: Parts, base_dir: PathBuf) -> Option<Loaded> {
        let engine = parts.engine;
        let unreadable = self
            .problems
            .iter()
            .any(|p| p.code == ProblemCode::YamlSyntax);
        if engine.is_none() && !unreadable {
            self.problems.push(SpecProblem {
                file: file.to_path_buf(),
                line: 1,
                column: 1,
                field: "engine".into(),
                code: ProblemCode::MissingEngine,
                message: "missing field `engine`".into(),
                help: Some("add `engine: sqlserver` or `engine: oracle`".into()),
                source_line: None,
            });
        }
        self.check_parts(&parts, engine);
        self.problems.extend(validate::cross_references(
            &parts.resources,
            &parts.manual,
            &parts.exclude,
        ));
        let excluded: Vec<&ResourceId> = parts.exclude.iter().map(|e| &e.item).collect();
        let resources = parts
            .resources
            .into_iter()
            .map(|r| r.item)
            .filter(|r| !excluded.contains(&&r.id))
            .collect();
        let manual = parts
            .manual
            .into_iter()
            .map(|m| m.item)
            .filter(|m| !excluded.contains(&&m.id))
            .collect();
        let desired = Desired {
            engine: engine?,
            base_dir,
            guard: parts.guard.unwrap_or_default(),
            resources,
            manual,
            front_ends: parts.front_ends,
            production: parts.production.unwrap_or_default(),
            configuration_values: parts.configuration_values,
            secret_rows: parts.secret_rows,
            entities: parts.entities,
            masking: parts.masking.unwrap_or_default(),
            journal: parts.journal.unwrap_or_default(),
            event_queues: parts.event_queues,
            datapump: parts.datapump.map(|(d, _)| d),
            captured: parts.captured,
            carry: parts.carry.unwrap_or_default(),
            trust: parts.trust.unwrap_or_default(),
            attestation: parts.attestation,
        };
        self.problems.extend(validate::fail_closed(&desired));
        Some(Loaded {
            desired,
            connection: parts.connection.map(|(c, _)| c),
        })
    }
}

pub(super) fn problem_at(
    origin: &Origin,
    field: &str,
    code: ProblemCode,
    message: String,
    help: Option<String>,
) -> SpecProblem {
    SpecProblem {
        file: origin.file.clone(),
        line: origin.line,
        column: origin.column,
        field: field.to_string(),
        code,
        message,
        help,
        source_line: line_of(&origin.file, origin.line),
    }
}

/// The text of a line of a spec file or built-in profile, for the caret display.
fn line_of(file: &Path, line: usize) -> Option<String> {
    let text = match file.to_str().and_then(|f| f.strip_prefix("builtin:")) {
        Some(name) => profile::get(name)?.to_string(),
        None => crate::files::read_text(file, crate::files::MAX_TEXT).ok()?,
    };
    text.lines().nth(line.checked_sub(1)?).map(shown_line)
}

/// The most characters of a line shown under a problem.
const SHOWN_LINE: usize = 160;

/// A line as shown under a problem: at most [`SHOWN_LINE`] characters.
fn shown_line(line: &str) -> String {
    match line.char_indices().nth(SHOWN_LINE) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}

/// serde_yaml appends " at line L column C"; the problem shows the location itself.
fn strip_location(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |at| &message[..at])
}
