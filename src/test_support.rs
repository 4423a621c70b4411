//! Builders shared by the unit tests: resources, desired and observed states, catalog tables,
//! changes. Test code only.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::change::{Change, ChangeKind};
use crate::state::desired::{
    ColumnValue, ColumnValues, Condition, Desired, EngineKind, Guard, Lookup, Origin, Predicate,
    Resource, ResourceId, ResourceKind, Stage, Subselect, TableName, TableTarget,
};
use crate::state::observed::{
    Catalog, ColumnInfo, Drift, DriftRow, Observed, ObservedResource, ResolvedTable, TableInfo,
    TableRef, Target,
};
use crate::state::Value;

pub(crate) fn id(s: &str) -> ResourceId {
    ResourceId::try_from(s.to_string()).unwrap()
}

pub(crate) fn name(s: &str) -> TableName {
    TableName::try_from(s.to_string()).unwrap()
}

pub(crate) fn text(v: &str) -> Value {
    Value::Text(v.into())
}

pub(crate) fn col(name: &str, ty: &str, nullable: bool) -> ColumnInfo {
    ColumnInfo::new(name, ty, nullable)
}

pub(crate) fn table_ref(name: &str) -> TableRef {
    TableRef {
        schema: "dbo".into(),
        name: name.into(),
    }
}

pub(crate) fn info(name: &str, columns: Vec<ColumnInfo>, pk: &[&str]) -> TableInfo {
    TableInfo {
        table: table_ref(name),
        columns,
        primary_key: pk.iter().map(|s| s.to_string()).collect(),
    }
}

/// A table with one integer key column `ID`.
pub(crate) fn table(name: &str) -> TableInfo {
    info(name, vec![col("ID", "int", false)], &["ID"])
}

pub(crate) fn resource<S: Stage>(name: &str, kind: ResourceKind<S>, after: &[&str]) -> Resource<S> {
    Resource {
        id: id(name),
        kind,
        after: after.iter().map(|a| id(a)).collect(),
        description: None,
        secret: false,
        origin: Origin {
            file: PathBuf::from("spec.yaml"),
            line: 1,
            column: 1,
        },
        table_origin: None,
        labels: vec![],
        personal: false,
    }
}

pub(crate) fn desired<S: Stage>(resources: Vec<Resource<S>>) -> Desired<S> {
    Desired {
        engine: EngineKind::Sqlserver,
        base_dir: PathBuf::new(),
        guard: Guard::default(),
        resources,
        manual: vec![],
        front_ends: None,
        production: crate::state::desired::Production::default(),
        configuration_values: vec![],
        secret_rows: vec![],
        entities: None,
        masking: crate::state::desired::Masking::default(),
        journal: crate::state::desired::JournalSettings::default(),
        event_queues: vec![],
        datapump: None,
        captured: None,
        carry: crate::state::desired::CarrySettings::default(),
        trust: crate::state::desired::Trust::default(),
        attestation: None,
    }
}

pub(crate) fn drift(n: u64) -> Drift {
    Drift {
        count: n,
        fingerprint: format!("fp{n}"),
        sample: (0..n.min(2))
            .map(|i| DriftRow {
                key: vec![("ID".into(), Value::Int(i as i64))],
                changes: vec![],
                ..DriftRow::default()
            })
            .collect(),
    }
}

pub(crate) fn inspected(name: &str, t: &str, n: u64) -> ObservedResource {
    ObservedResource::Inspected {
        id: id(name),
        table: Some(table(t)),
        drift: drift(n),
    }
}

pub(crate) fn target() -> Target {
    Target {
        server: "s".into(),
        database: "d".into(),
        forbidden_front_ends: vec![],
        front_end_list: None,
    }
}

pub(crate) fn observed(resources: Vec<ObservedResource>) -> Observed {
    Observed {
        target: target(),
        catalog: Catalog::default(),
        resources,
        foreign_keys: vec![],
        masking: vec![],
        carry: vec![],
        copies: None,
    }
}

pub(crate) fn change(kind: ChangeKind) -> Change {
    Change {
        id: id("c"),
        kind,
        rows: Drift::default(),
        secret: false,
        description: None,
        labels: vec![],
        row_label: None,
        personal: false,
        sealed: false,
        mask_key: None,
    }
}

/// Platform tables as a catalog: parameters, site properties and their definitions and secret
/// flags, the front-end list.
pub(crate) fn platform_catalog() -> Catalog {
    let tables = vec![
        (
            "ossys_parameter",
            info(
                "OSSYS_PARAMETER",
                vec![
                    col("ID", "int", false),
                    col("NAME", "nvarchar", false),
                    col("VAL", "nvarchar", true),
                ],
                &["ID"],
            ),
        ),
        (
            "ossys_site_property",
            info(
                "OSSYS_SITE_PROPERTY",
                vec![
                    col("ID", "int", false),
                    col("SITE_PROPERTY_DEFINITION_ID", "int", false),
                    col("PROPERTY_VALUE", "nvarchar", true),
                    col("USER_MODIFIED", "bit", false),
                ],
                &["ID"],
            ),
        ),
        (
            "OSSYS_SITE_PROPERTY_DEFINITION",
            info(
                "OSSYS_SITE_PROPERTY_DEFINITION",
                vec![
                    col("ID", "int", false),
                    col("DEFAULT_VALUE", "nvarchar", true),
                ],
                &["ID"],
            ),
        ),
        (
            "ossys_site_property_def_ext",
            info(
                "OSSYS_SITE_PROPERTY_DEF_EXT",
                vec![
                    col("SITE_PROPERTY_DEFINITION_ID", "int", false),
                    col("IS_SECRET", "bit", false),
                ],
                &[],
            ),
        ),
        (
            "ossys_server",
            info("OSSYS_SERVER", vec![col("NAME", "nvarchar", false)], &[]),
        ),
    ];
    Catalog {
        tables: tables
            .into_iter()
            .map(|(n, info)| ResolvedTable {
                requested: name(n),
                info,
            })
            .collect(),
        subselects: Vec::new(),
        unique_indexes: Vec::new(),
        triggers: Vec::new(),
    }
}

/// The runbook's secret site properties step: values back to the definition's default where
/// the definition is secret.
pub(crate) fn secret_site_properties<S: Stage>() -> ColumnValues<S> {
    ColumnValues {
        table: TableTarget::Name(name("ossys_site_property")),
        filter: vec![Condition {
            column: "SITE_PROPERTY_DEFINITION_ID".into(),
            predicate: Predicate::InSelect(Box::new(Subselect {
                table: name("ossys_site_property_def_ext"),
                column: "SITE_PROPERTY_DEFINITION_ID".into(),
                filter: vec![Condition {
                    column: "IS_SECRET".into(),
                    predicate: Predicate::In(vec![Value::Int(1)]),
                    ignore_case: false,
                }],
            })),
            ignore_case: false,
        }],
        set: BTreeMap::from([
            (
                "PROPERTY_VALUE".into(),
                ColumnValue::Lookup {
                    lookup: Lookup {
                        table: name("OSSYS_SITE_PROPERTY_DEFINITION"),
                        column: "DEFAULT_VALUE".into(),
                        on: BTreeMap::from([("ID".into(), "SITE_PROPERTY_DEFINITION_ID".into())]),
                    },
                },
            ),
            ("USER_MODIFIED".into(), ColumnValue::Literal(Value::Int(0))),
        ]),
        if_exists: false,
        label: None,
    }
}

/// An engine of a few scripted answers, for the failure paths of apply and restore: it logs
/// every call, streams the rows queued for each read, and fails where told. No SQL is run.
#[derive(Debug, Default)]
pub(crate) struct FakeEngine {
    /// Every call, in order: `begin`, `stream`, `run <sql>`, `commit`, `rollback`.
    pub log: Vec<String>,
    /// The rows each `stream` call returns, in call order (none once empty).
    pub reads: std::collections::VecDeque<Vec<Vec<Value>>>,
    /// The `run` call (from 0) that fails.
    pub fail_run: Option<usize>,
    /// `begin` fails.
    pub fail_begin: bool,
    /// `commit` fails.
    pub fail_commit: bool,
    /// `rollback` fails.
    pub fail_rollback: bool,
    /// Renders Oracle's SQL (SQL Server's otherwise).
    pub oracle: bool,
}

impl FakeEngine {
    fn refused(what: &str) -> crate::engine::Error {
        crate::engine::Error::Query {
            context: what.to_string(),
            source: format!("{what} refused by the fake engine").into(),
        }
    }

    /// Whether `call` was made (a prefix of a logged call).
    pub fn called(&self, call: &str) -> bool {
        self.log.iter().any(|l| l.starts_with(call))
    }
}

impl crate::engine::Reader for FakeEngine {
    async fn rows(
        &mut self,
        _sql: &crate::sql::Sql,
        _context: &str,
    ) -> Result<Vec<Vec<Value>>, crate::engine::Error> {
        self.log.push("rows".into());
        Ok(Vec::new())
    }

    async fn stream(
        &mut self,
        _query: &crate::sql::Select,
        _context: &str,
        each: &mut crate::engine::RowSink<'_>,
    ) -> Result<u64, crate::engine::Error> {
        self.log.push("stream".into());
        let rows = self.reads.pop_front().unwrap_or_default();
        let n = rows.len() as u64;
        for row in rows {
            each(row)?;
        }
        Ok(n)
    }

    async fn check(
        &mut self,
        _sql: &crate::sql::Sql,
        _context: &str,
        _each: &mut crate::engine::CheckSink<'_>,
    ) -> Result<u64, crate::engine::Error> {
        Ok(0)
    }
}

impl crate::engine::Engine for FakeEngine {
    fn flavor(&self) -> crate::sql::Flavor {
        if self.oracle {
            crate::sql::Flavor::Oracle
        } else {
            crate::sql::Flavor::SqlServer
        }
    }

    async fn identify(&mut self) -> Result<Target, crate::engine::Error> {
        Ok(target())
    }

    async fn lock(
        &mut self,
        _timeout: std::time::Duration,
    ) -> Result<crate::engine::Lock, crate::engine::Error> {
        Ok(crate::engine::Lock::Application)
    }

    async fn begin(
        &mut self,
        _lock: &crate::engine::Lock,
        _tables: &[TableInfo],
    ) -> Result<(), crate::engine::Error> {
        self.log.push("begin".into());
        if self.fail_begin {
            return Err(Self::refused("begin"));
        }
        Ok(())
    }

    async fn run(&mut self, statement: &crate::sql::Statement) -> Result<(), crate::engine::Error> {
        let before = self.log.iter().filter(|l| l.starts_with("run ")).count();
        self.log.push(format!("run {}", statement.sql));
        if self.fail_run == Some(before) {
            return Err(Self::refused("the statement"));
        }
        Ok(())
    }

    async fn commit(&mut self) -> Result<(), crate::engine::Error> {
        self.log.push("commit".into());
        if self.fail_commit {
            return Err(Self::refused("commit"));
        }
        Ok(())
    }

    async fn rollback(&mut self) -> Result<(), crate::engine::Error> {
        self.log.push("rollback".into());
        if self.fail_rollback {
            return Err(Self::refused("rollback"));
        }
        Ok(())
    }
}

/// Runs a future to completion on a current-thread runtime.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}
