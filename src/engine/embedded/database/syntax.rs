//! Reading the engine's statements: which table an update writes, the referential actions a
//! constraint declares, and the small conversions the corrections need.

use super::*;

pub(super) fn declared(
    table: &ObjectName,
    constraint: &TableConstraintSpec,
) -> Option<DeclaredActions> {
    match constraint {
        TableConstraintSpec::ForeignKey {
            columns,
            on_delete,
            on_update,
            ..
        } => Some(DeclaredActions {
            table: table.clone(),
            columns: columns.clone(),
            on_delete: *on_delete,
            on_update: *on_update,
        }),
        _ => None,
    }
}

/// The tables `statements` insert into, update or delete from (an `UPDATE` through its alias:
/// the table the alias names), blocks and branches included.
pub(super) fn written_tables(statements: &[Statement], out: &mut Vec<ObjectName>) {
    for statement in statements {
        match statement {
            Statement::Dml(DmlStatement::Insert(i)) => out.push(i.table.clone()),
            Statement::Dml(DmlStatement::Update(u)) => out.push(updated_table(u)),
            Statement::Dml(DmlStatement::Delete(d)) => out.push(d.table.clone()),
            Statement::Procedural(ProceduralStatement::BeginEnd(body)) => {
                written_tables(body, out);
            }
            Statement::Procedural(ProceduralStatement::If(branch)) => {
                written_tables(&branch.then_body, out);
                written_tables(branch.else_body.as_deref().unwrap_or_default(), out);
            }
            _ => {}
        }
    }
}

pub(super) fn alter(table: &ObjectName, action: AlterTableAction) -> Statement {
    Statement::Ddl(DdlStatement::AlterTable(AlterTableStmt {
        table: table.clone(),
        action,
    }))
}

/// An integer the engine returned, whatever its width.
pub(super) fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::TinyInt(n) => Some(i64::from(*n)),
        Value::SmallInt(n) => Some(i64::from(*n)),
        Value::Int(n) => Some(i64::from(*n)),
        Value::BigInt(n) => Some(*n),
        _ => None,
    }
}

pub(super) fn object(schema: String, name: String) -> ObjectName {
    ObjectName {
        database: None,
        schema: Some(schema),
        name,
    }
}

pub(super) fn same_table(a: &ObjectName, b: &ObjectName) -> bool {
    a.name.eq_ignore_ascii_case(&b.name)
        && a.schema_or_dbo().eq_ignore_ascii_case(b.schema_or_dbo())
}

/// The table an `UPDATE` writes: its target, or the table its alias names in `FROM`.
pub(super) fn updated_table(update: &iridium_core::ast::statements::dml::UpdateStmt) -> ObjectName {
    let aliased = update.from.as_ref().and_then(|from| {
        from.tables
            .iter()
            .chain(from.joins.iter().map(|j| &j.table))
            .find(|t| {
                t.alias.as_deref().is_some_and(|a| {
                    update.table.schema.is_none() && a.eq_ignore_ascii_case(&update.table.name)
                })
            })
            .and_then(|t| match &t.factor {
                TableFactor::Named(name) => Some(name.clone()),
                _ => None,
            })
    });
    aliased.unwrap_or_else(|| update.table.clone())
}

/// The first word of a batch, past blanks and comments.
pub(super) fn first_word(sql: &str) -> &str {
    let mut rest = sql;
    loop {
        rest = rest.trim_start();
        if let Some(comment) = rest.strip_prefix("--") {
            rest = comment.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(comment) = rest.strip_prefix("/*") {
            rest = comment.split_once("*/").map_or("", |(_, after)| after);
        } else {
            break;
        }
    }
    let end = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    &rest[..end]
}
