//! Oracle Data Pump: the `expdp`/`impdp` parameter files that clone the platform's schemas,
//! written from the spec's `datapump:` section (`postclone datapump SPEC`).
//!
//! The runbook's own example exports OSADMIN and OSRUNTIME, then remaps OSLOG on import: a
//! schema the dump does not hold. Here every remap source must be an exported schema, and every
//! name an Oracle identifier, so a parameter file cannot be made to say anything else.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The `datapump:` section of a spec (Oracle only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataPump {
    /// The Oracle directory object the dump files go to (on both instances).
    #[serde(default = "default_directory")]
    pub directory: String,
    /// Dump file name; `%U` numbers the files of a parallel export.
    #[serde(default = "default_dumpfile")]
    pub dumpfile: String,
    /// The schemas exported from production: platform, log and application schemas.
    pub schemas: Vec<String>,
    /// Production schema → this environment's schema.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub remap_schema: BTreeMap<String, String>,
    /// Production tablespace → this environment's tablespace.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub remap_tablespace: BTreeMap<String, String>,
    /// Worker processes for export and import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<u32>,
}

fn default_directory() -> String {
    "DATA_PUMP_DIR".into()
}

fn default_dumpfile() -> String {
    "postclone_%U.dmp".into()
}

/// A problem with a `datapump:` section: which field, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("datapump.{field}: {message}")]
pub struct DataPumpProblem {
    /// The field, under `datapump.`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// The two parameter files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterFiles {
    /// For `expdp PARFILE=export.par`, run against production.
    pub export: String,
    /// For `impdp PARFILE=import.par`, run against this environment's instance.
    pub import: String,
}

/// An Oracle name as a parameter file may hold it: a letter, then letters, digits, `_`, `$`,
/// `#`; at most 128 characters. Anything else (a comma, a quote, a line break) is refused.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '#'))
        && name.len() <= 128
}

/// A dump file name: letters, digits, `_`, `-`, `.` and `%U`.
fn is_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .replace("%U", "")
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl DataPump {
    /// Every problem of the section, at once.
    #[must_use]
    pub fn problems(&self) -> Vec<DataPumpProblem> {
        let mut out = Vec::new();
        let mut problem = |field: String, message: String| {
            out.push(DataPumpProblem { field, message });
        };
        if !is_identifier(&self.directory) {
            problem(
                "directory".into(),
                format!(
                    "{:?} is not an Oracle directory object name",
                    self.directory
                ),
            );
        }
        if !is_file_name(&self.dumpfile) {
            problem(
                "dumpfile".into(),
                format!(
                    "{:?}: use letters, digits, '_', '-', '.' and %U",
                    self.dumpfile
                ),
            );
        }
        if self.schemas.is_empty() {
            problem(
                "schemas".into(),
                "list the schemas to export (platform, log and application schemas)".into(),
            );
        }
        for (i, s) in self.schemas.iter().enumerate() {
            if !is_identifier(s) {
                problem(
                    format!("schemas[{i}]"),
                    format!("{s:?} is not an Oracle schema name"),
                );
            }
        }
        let exported = |name: &str| self.schemas.iter().any(|s| s.eq_ignore_ascii_case(name));
        for (from, to) in &self.remap_schema {
            let field = format!("remap_schema.{from}");
            if !is_identifier(from) || !is_identifier(to) {
                problem(field, format!("{from:?} → {to:?}: not Oracle schema names"));
            } else if !exported(from) {
                problem(
                    field,
                    format!(
                        "{from} is not among the exported schemas ({}): the dump would not hold it, and impdp would fail with ORA-39146 or remap nothing",
                        self.schemas.join(", ")
                    ),
                );
            }
        }
        for (from, to) in &self.remap_tablespace {
            if !is_identifier(from) || !is_identifier(to) {
                problem(
                    format!("remap_tablespace.{from}"),
                    format!("{from:?} → {to:?}: not Oracle tablespace names"),
                );
            }
        }
        if self.parallel == Some(0) {
            problem("parallel".into(), "at least 1".into());
        }
        out
    }

    /// The export and import parameter files.
    ///
    /// # Errors
    /// Every problem of the section; nothing is written with any.
    pub fn parameter_files(&self) -> Result<ParameterFiles, Vec<DataPumpProblem>> {
        let problems = self.problems();
        if !problems.is_empty() {
            return Err(problems);
        }
        let upper = |s: &String| s.to_ascii_uppercase();
        let schemas: Vec<String> = self.schemas.iter().map(upper).collect();
        let log = self.dumpfile.replace("%U", "").replace(".dmp", "");
        let log = log.trim_end_matches(['_', '-', '.']);
        let mut common = format!(
            "DIRECTORY={}\nDUMPFILE={}\nSCHEMAS={}\n",
            upper(&self.directory),
            self.dumpfile,
            schemas.join(",")
        );
        if let Some(n) = self.parallel {
            common.push_str(&format!("PARALLEL={n}\n"));
        }
        let export = format!(
            "# expdp PARFILE=export.par, against production: a consistent export of the\n\
             # platform's schemas as of the moment it starts.\n{common}LOGFILE={log}_export.log\nFLASHBACK_TIME=SYSTIMESTAMP\n"
        );
        let mut import = format!(
            "# impdp PARFILE=import.par, against this environment's instance, into schemas and\n\
             # tablespaces created beforehand; then run `postclone apply` on the platform schema.\n{common}LOGFILE={log}_import.log\n"
        );
        for (from, to) in &self.remap_schema {
            import.push_str(&format!("REMAP_SCHEMA={}:{}\n", upper(from), upper(to)));
        }
        for (from, to) in &self.remap_tablespace {
            import.push_str(&format!("REMAP_TABLESPACE={}:{}\n", upper(from), upper(to)));
        }
        Ok(ParameterFiles { export, import })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(yaml: &str) -> DataPump {
        serde_yaml::from_str(yaml).unwrap()
    }

    /// Both files for a clone of the platform and log schemas, remapped.
    #[test]
    fn parameter_files() {
        let files = section(
            "schemas: [OSADMIN, OSRUNTIME, osadmin_log]\n\
             remap_schema: { OSADMIN: OSADMIN_PP, OSRUNTIME: OSRUNTIME_PP, OSADMIN_LOG: OSADMIN_LOG_PP }\n\
             remap_tablespace: { OSSYS: OSSYS_PP, OSUSR: OSUSR_PP }\n\
             dumpfile: prod_%U.dmp\nparallel: 2\n",
        )
        .parameter_files()
        .unwrap();
        insta::assert_snapshot!(format!(
            "--- export.par\n{}--- import.par\n{}",
            files.export, files.import
        ));
    }

    /// The runbook's own example: OSLOG remapped but never exported.
    #[test]
    fn remap_source_must_be_exported() {
        let problems = section(
            "schemas: [OSADMIN, OSRUNTIME]\nremap_schema: { OSADMIN: NEW_OSADMIN, OSLOG: NEW_OSLOG }\n",
        )
        .problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].field, "remap_schema.OSLOG");
        assert!(
            problems[0]
                .message
                .starts_with("OSLOG is not among the exported schemas (OSADMIN, OSRUNTIME)"),
            "{}",
            problems[0].message
        );
    }

    /// Nothing that could add a parameter or a second value reaches a file.
    #[test]
    fn names_are_identifiers() {
        let problems = section(
            "schemas: [\"OSADMIN\\nQUERY=x\", \"A,B\"]\ndirectory: \"D IR\"\ndumpfile: \"../x.dmp\"\n",
        )
        .problems();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["directory", "dumpfile", "schemas[0]", "schemas[1]"]
        );
    }
}
