//! Reading one resource of a spec file: the keys every resource has, then its kind's own
//! keys, each failure a problem located at its field.

use serde::de::DeserializeOwned;
use serde_yaml::{Mapping, Value as Yaml};

use super::load::{FileCtx, Loader, Located};
use super::source_map;
use super::{ProblemCode, ResourceHeader};
use crate::state::desired::kind::with_resource_kinds;
use crate::state::desired::{
    Carried, ColumnValue, ColumnValues, Custom, GrantsAbsent, Masked, PrincipalsAbsent,
    ReferencesAbsent, Report, Resource, ResourceKind, RowsAbsent, TableEmpty,
};

impl Loader {
    /// Reads one resource: the common header, then the kind's own keys.
    pub(super) fn resource(
        &mut self,
        ctx: &FileCtx<'_>,
        path: &str,
        value: Yaml,
    ) -> Option<Located<Resource>> {
        let Yaml::Mapping(mapping) = value else {
            self.problems.push(ctx.problem(
                ctx.map.value(path),
                path,
                ProblemCode::InvalidField,
                format!(
                    "a resource is a mapping with `id` and `kind`, found {}",
                    kind_of(&value)
                ),
                None,
            ));
            return None;
        };
        let mut header = Mapping::new();
        let mut body = Mapping::new();
        let mut kind = None;
        for (k, v) in mapping {
            match k.as_str() {
                Some("kind") => kind = Some(v),
                Some(name) if ResourceHeader::KEYS.contains(&name) => {
                    header.insert(k, v);
                }
                _ => {
                    body.insert(k, v);
                }
            }
        }
        let header: Option<ResourceHeader> = self.typed(ctx, path, Yaml::Mapping(header));
        let kind = self.kind(ctx, path, kind, Yaml::Mapping(body));
        let (header, kind) = (header?, kind?);
        self.check_kind(ctx, path, &kind);
        let masks = kind
            .set()
            .is_some_and(|s| s.values().any(|v| matches!(v, ColumnValue::Mask { .. })));
        let personal = header.personal || masks;
        let after_origins = (0..header.after.len())
            .map(|i| {
                ctx.origin(
                    ctx.map
                        .value(&source_map::index(&source_map::child(path, "after"), i)),
                )
            })
            .collect();
        let table_origin = kind
            .target()
            .map(|_| ctx.origin(ctx.map.value(&source_map::child(path, "table"))));
        // What a custom query returns is unknown: secret unless it says otherwise.
        let secret = header.secret || matches!(&kind, ResourceKind::Custom(c) if !c.show_values);
        Some(Located {
            item: Resource {
                id: header.id,
                kind,
                after: header.after,
                description: header.description,
                secret,
                personal,
                origin: ctx.origin(ctx.map.value(path)),
                table_origin,
                labels: Vec::new(),
            },
            origin: ctx.origin(ctx.map.value(path)),
            after_origins,
        })
    }

    /// The kind's own keys read as its type, after its name (`kind`).
    fn kind(
        &mut self,
        ctx: &FileCtx<'_>,
        path: &str,
        kind: Option<Yaml>,
        body: Yaml,
    ) -> Option<ResourceKind> {
        let kind_path = source_map::child(path, "kind");
        let kind_name = match kind {
            Some(Yaml::String(name)) => Some(name),
            Some(other) => {
                self.problems.push(ctx.problem(
                    ctx.map.value(&kind_path),
                    &kind_path,
                    ProblemCode::InvalidField,
                    format!("`kind` is a name, found {}", kind_of(&other)),
                    Some(format!("kinds: {}", ResourceKind::NAMES.join(", "))),
                ));
                None
            }
            None => {
                self.problems.push(ctx.problem(
                    ctx.map.value(path),
                    path,
                    ProblemCode::InvalidField,
                    "missing field `kind`".into(),
                    Some(format!("kinds: {}", ResourceKind::NAMES.join(", "))),
                ));
                None
            }
        };
        macro_rules! kinds {
            ($($variant:ident, $name:literal, $description:literal;)*) => {
                match kind_name.as_deref() {
                    None => None,
                    $(Some($name) => self
                        .typed::<$variant>(ctx, path, body)
                        .map(ResourceKind::$variant),)*
                    Some(other) => {
                        self.problems.push(ctx.problem(
                            ctx.map.value(&kind_path),
                            &kind_path,
                            ProblemCode::UnknownKind,
                            format!("unknown resource kind `{other}`"),
                            Some(format!("kinds: {}", ResourceKind::NAMES.join(", "))),
                        ));
                        None
                    }
                }
            };
        }
        with_resource_kinds!(kinds)
    }

    /// What a kind's keys must say together, beyond each key's own type: a `replace` from a
    /// host, a `replace_text` from some text, a `set` of some column, a `masked` resource named
    /// one way and masking something.
    fn check_kind(&mut self, ctx: &FileCtx<'_>, path: &str, kind: &ResourceKind) {
        let child = source_map::child;
        match kind {
            ResourceKind::ColumnValues(c) => {
                for (column, value) in &c.set {
                    let at = |key: &str, field: &str| {
                        child(&child(&child(&child(path, "set"), column), key), field)
                    };
                    match value {
                        ColumnValue::Replace { replace } if replace.host().is_none() => {
                            let at = at("replace", "from");
                            self.problems.push(ctx.problem(
                                ctx.map.value(&at),
                                &at,
                                ProblemCode::InvalidField,
                                format!(
                                    "`replace` rewrites a host, and {:?} is not a host name, a domain or an IP address",
                                    replace.from
                                ),
                                Some("write `replace_text: {from, to}` to rewrite any text as it is".into()),
                            ));
                        }
                        // An empty text occurs everywhere: every row would be rewritten.
                        ColumnValue::ReplaceText { replace_text }
                            if replace_text.from.is_empty() =>
                        {
                            let at = at("replace_text", "from");
                            self.problems.push(
                                ctx.problem(
                                    ctx.map.value(&at),
                                    &at,
                                    ProblemCode::InvalidField,
                                    "`replace_text` from an empty text would rewrite every value"
                                        .into(),
                                    Some("write the text to replace in `from`".into()),
                                ),
                            );
                        }
                        _ => {}
                    }
                }
                if c.set.is_empty() {
                    let set_path = child(path, "set");
                    self.problems.push(ctx.problem(
                        ctx.map.value(&set_path),
                        &set_path,
                        ProblemCode::InvalidField,
                        "`set` names no column".into(),
                        Some("list at least one `COLUMN: value`".into()),
                    ));
                }
            }
            ResourceKind::Masked(m) => {
                let named = m.module.is_some() && m.entity.is_some();
                if named == m.table.is_some() || m.module.is_some() != m.entity.is_some() {
                    self.problems.push(ctx.problem(
                        ctx.map.value(path),
                        path,
                        ProblemCode::InvalidField,
                        "a `masked` resource names either `module` and `entity`, or a platform `table`".into(),
                        Some("for an application's data: `module: CRM` and `entity: Customer`".into()),
                    ));
                }
                if m.attributes.is_empty() {
                    let at = child(path, "attributes");
                    self.problems.push(ctx.problem(
                        ctx.map.value(&at),
                        &at,
                        ProblemCode::InvalidField,
                        "`attributes` names nothing to mask".into(),
                        Some("list at least one `Attribute: method`".into()),
                    ));
                }
            }
            ResourceKind::Carried(c) => self.check_carried(ctx, path, c),
            _ => {}
        }
    }

    /// A carried resource needs a key and values, and a value column cannot be a key part's
    /// own column (it would be rewritten by what finds it).
    fn check_carried(&mut self, ctx: &FileCtx<'_>, path: &str, c: &Carried) {
        let child = source_map::child;
        let mut problem = |field: &str, message: String, help: &str| {
            let at = child(path, field);
            self.problems.push(ctx.problem(
                ctx.map.value(&at),
                &at,
                ProblemCode::InvalidField,
                message,
                Some(help.into()),
            ));
        };
        if c.key.is_empty() {
            problem(
                "key",
                "`key` names no part: the rows cannot be found again after the clone".into(),
                "name the row's stable key, e.g. `name: { column: NAME }`",
            );
        }
        if c.values.is_empty() {
            problem(
                "values",
                "`values` names no column to carry".into(),
                "list the columns whose values are the environment's own",
            );
        }
        if let Some(column) = c.values.iter().find(|v| {
            c.key
                .values()
                .any(|k| k.through.is_empty() && k.column.eq_ignore_ascii_case(v))
        }) {
            problem(
                "values",
                format!("`{column}` is both a key part and a carried value"),
                "a carried row is found by its key: carry other columns",
            );
        }
        if c.missing == crate::state::desired::Missing::Insert {
            if let Some((name, _)) = c.key.iter().find(|(_, k)| !k.through.is_empty()) {
                problem(
                    "missing",
                    format!(
                        "`missing: insert` writes each key part into its column, but key part `{name}` goes through other tables"
                    ),
                    "use `missing: report` (the default), or a key whose parts are columns of the table",
                );
            }
        }
    }

    /// A sequence value, or a problem and nothing.
    pub(super) fn sequence(&mut self, ctx: &FileCtx<'_>, path: &str, value: Yaml) -> Vec<Yaml> {
        match value {
            Yaml::Sequence(items) => items,
            Yaml::Null => Vec::new(),
            other => {
                self.problems.push(ctx.problem(
                    ctx.map.value(path),
                    path,
                    ProblemCode::InvalidField,
                    format!("`{path}` is a list, found {}", kind_of(&other)),
                    None,
                ));
                Vec::new()
            }
        }
    }

    /// Deserializes `value` found at `path`; a failure becomes a problem at the failing field.
    pub(super) fn typed<T: DeserializeOwned>(
        &mut self,
        ctx: &FileCtx<'_>,
        path: &str,
        value: Yaml,
    ) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(v) => Some(v),
            Err(e) => {
                let inner = e.path().to_string();
                let mut field = if inner == "." {
                    path.to_string()
                } else if inner.starts_with('[') {
                    format!("{path}{inner}")
                } else {
                    source_map::child(path, &inner)
                };
                let message = e.into_inner().to_string();
                // An unknown key is best shown where the key is written.
                let at = match unknown_field(&message) {
                    Some(key) => {
                        // serde_path_to_error usually ends the path with the unknown key already.
                        if !field.ends_with(&format!(".{key}")) && field != key {
                            field = source_map::child(&field, key);
                        }
                        ctx.map.key(&field)
                    }
                    None => ctx.map.value(&field),
                };
                self.problems.push(ctx.problem(
                    at,
                    &field,
                    ProblemCode::InvalidField,
                    message,
                    None,
                ));
                None
            }
        }
    }
}

/// `unknown field `x`, expected ...` → `x`.
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split_once('`').map(|(name, _)| name)
}

/// What a YAML value is, for messages.
pub(super) fn kind_of(value: &Yaml) -> &'static str {
    match value {
        Yaml::Null => "nothing",
        Yaml::Bool(_) => "a boolean",
        Yaml::Number(_) => "a number",
        Yaml::String(_) => "a string",
        Yaml::Sequence(_) => "a list",
        Yaml::Mapping(_) => "a mapping",
        Yaml::Tagged(_) => "a tagged value",
    }
}
