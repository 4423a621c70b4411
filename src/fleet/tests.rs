//! Unit tests of reading a fleet file.

use super::*;

fn fleet_in(dir: &Path, text: &str) -> Result<Loaded, FleetError> {
    std::fs::write(dir.join("qa.yaml"), "engine: sqlserver\n").unwrap();
    std::fs::write(dir.join("fleet.yaml"), text).unwrap();
    load(&dir.join("fleet.yaml"))
}

const TARGETS: &str = "targets:
  - { name: qa, spec: qa.yaml, labels: { tier: qa } }
  - { name: test, spec: qa.yaml, labels: { tier: test } }
  - { name: preprod, spec: qa.yaml, labels: { tier: preprod } }
";

#[test]
fn stages_run_after_theirs_and_take_their_targets() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = fleet_in(
        dir.path(),
        &format!(
            "{TARGETS}stages:
  - {{ name: upper, match: {{ tier: preprod }}, after: [lower], hold: true }}
  - {{ name: lower, match: {{ tier: [qa, test] }}, parallel: 2, on_error: continue }}
"
        ),
    )
    .unwrap();
    assert_eq!(loaded.order, vec![1, 0]);
    assert_eq!(loaded.members, vec![vec![2], vec![0, 1]]);
    assert_eq!(loaded.fleet.stages[1].on_error, OnError::Continue);
}

#[test]
fn inconsistent_fleets_are_refused_with_their_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "stages:\n  - { name: all, after: [nowhere] }\n",
            "stages[0].after[0]",
            "no other stage is named \"nowhere\"",
        ),
        (
            "stages:\n  - { name: a, match: { tier: qa }, after: [b] }\n  - { name: b, match: { tier: [test, preprod] }, after: [a] }\n",
            "stages[0].after",
            "cycle",
        ),
        (
            "stages:\n  - { name: a, match: { tier: [qa, test] } }\n",
            "targets[2]",
            "matched by no stage",
        ),
        (
            "stages:\n  - { name: a }\n  - { name: b, match: { tier: qa } }\n",
            "stages[1].match",
            "matched by stage a already",
        ),
        (
            "stages:\n  - { name: a }\n  - { name: b, match: { tier: prod } }\n",
            "stages[1].match",
            "stage b matches no target",
        ),
        (
            "stages:\n  - { name: a, paralel: 2 }\n",
            "stages[0].paralel",
            "unknown field `paralel`",
        ),
    ];
    for (stages, field, message) in cases {
        let e = fleet_in(dir.path(), &format!("{TARGETS}{stages}")).unwrap_err();
        let FleetError::Invalid {
            field: f,
            message: m,
            line,
            ..
        } = &e
        else {
            panic!("{e:?}");
        };
        assert_eq!(f, field, "{e}");
        assert!(m.contains(message), "{e}");
        assert!(*line > 0, "{e}");
    }
    let e = fleet_in(
        dir.path(),
        "targets:\n  - { name: qa, spec: missing.yaml }\nstages:\n  - { name: a }\n",
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("fleet.yaml:2: targets[0].spec"),
        "{e}"
    );
}
