//! The layers of the crate, checked: a module uses only modules of the layers below its own, so
//! imports point down and cannot form a cycle.

/// Top to bottom. Modules of one layer do not use each other.
const LAYERS: &[&[&str]] = &[
    &["cli"],
    &["attest", "fleet"],
    &["apply", "capture", "restore", "planning"],
    &["run"],
    &["executor"],
    &["transaction", "queues"],
    &["render", "spec"],
    &["plan", "profile"],
    &["graph"],
    &["inspect"],
    &["engine"],
    &["sql"],
    &["diff", "journal"],
    &["change", "guard"],
    &["state"],
    &["signing"],
    &["secret"],
    &["datapump", "files", "yaml_out"],
];

/// Shared test builders: any layer's tests may use them.
const TEST_SUPPORT: &str = "test_support";

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// Every top-level module named by a `crate::` path in `text`.
fn crate_paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        // `postclone::crate::` does not occur; a preceding identifier character would mean
        // another path such as `iridium_crate::`.
        if text[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        let name: String = text[i + "crate::".len()..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !found.contains(&name) {
            found.push(name);
        }
    }
    found
}

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

#[test]
fn imports_point_down_the_layers() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files).unwrap();
    let mut wrong = Vec::new();
    let mut modules_seen = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_string_lossy().trim_end_matches(".rs").to_string();
        if ["lib", "main", "layers", TEST_SUPPORT].contains(&module.as_str()) {
            continue;
        }
        let Some(own) = layer_of(&module) else {
            wrong.push(format!(
                "module `{module}` is in no layer: add it to LAYERS"
            ));
            continue;
        };
        modules_seen.push(module.clone());
        let text = std::fs::read_to_string(file).unwrap();
        for used in crate_paths(&text) {
            if used == module || used == TEST_SUPPORT {
                continue;
            }
            match layer_of(&used) {
                Some(l) if l > own => {}
                _ => wrong.push(format!(
                    "{} uses crate::{used}, which is not below `{module}`",
                    relative.display()
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    for module in LAYERS.iter().flat_map(|l| l.iter()) {
        assert!(
            modules_seen.iter().any(|m| m == module),
            "LAYERS names `{module}`, which has no file"
        );
    }
}

#[test]
fn crate_paths_are_found_once_and_not_inside_other_names() {
    let text = "use crate::state::Value;\nlet x = crate::state::MASK; my_crate::diff; crate::{}";
    assert_eq!(crate_paths(text), vec!["state".to_string()]);
}

/// The table in `lib.rs`'s documentation lists the layers as `LAYERS` does, row by row: a
/// reader who trusts it finds each module where the check puts it.
#[test]
fn the_documented_layers_are_the_checked_ones() {
    let lib = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"),
    )
    .unwrap();
    let documented: Vec<Vec<String>> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//! | "))
        .filter_map(|row| row.rsplit_once(" | ").map(|(_, modules)| modules))
        .map(|modules| modules.trim_end_matches(" |").split(", "))
        // The header row names no module in backquotes.
        .filter(|modules| modules.clone().all(|m| m.starts_with('`')))
        .map(|modules| modules.map(|m| m.trim_matches('`').to_string()).collect())
        .collect();
    let checked: Vec<Vec<String>> = LAYERS
        .iter()
        .map(|l| l.iter().map(|m| (*m).to_string()).collect())
        .collect();
    assert_eq!(documented, checked);
}
