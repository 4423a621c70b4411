//! How long a spec that is not one takes to refuse: the worst inputs of each form, at the
//! sizes the loader's limits still let through.
//!
//! `cargo bench --bench yaml_depth` loads each input with `postclone::spec::load_str` (what
//! `validate`, `plan` and `apply` run first) a few times and prints the fastest and slowest
//! time and the problem it ends with. The test suite asserts the outcome of the same forms
//! (`tests/hostile.rs`); the times come from here, in a release build.
#![allow(clippy::disallowed_macros, missing_docs)]

use std::path::Path;
use std::time::{Duration, Instant};

/// Inputs: a name and the text.
fn inputs() -> Vec<(&'static str, String)> {
    let spec = "engine: sqlserver\nresources: ";
    vec![
        ("flow [ x 200,000", format!("{spec}{}\n", "[".repeat(200_000))),
        ("a'b, then [ x 200,000", format!("{spec}[a'b, {}\n", "[".repeat(200_000))),
        ("\"a\\\\\" then [ x 200,000", format!("{spec}\"a\\\\\" {}\n", "[".repeat(200_000))),
        ("block - x 23,000", format!("{spec}{}x\n", "- ".repeat(23_000))),
        (
            "block mappings 1,000 deep",
            (0..1_000)
                .map(|i| format!("{}a:\n", " ".repeat(2 * i)))
                .collect::<String>(),
        ),
        ("[ x 128, then 1,000,000 items", format!("{spec}{}{}\n", "[".repeat(128), "a, ".repeat(1_000_000))),
        ("flat list of 1,000,000 items", format!("{spec}[{}]\n", "a, ".repeat(1_000_000))),
        (
            "60 block levels, 900,000 items",
            format!(
                "{spec}\n{}{}- [{}]\n",
                (0..60).map(|i| format!("{}- \n", "  ".repeat(i))).collect::<String>(),
                "  ".repeat(60),
                "a, ".repeat(900_000)
            ),
        ),
        ("one line of 60 MiB", format!("{spec}{}\n", "a".repeat(60 << 20))),
        (
            "aliases: a billion laughs",
            format!(
                "a: &a [x, x, x, x, x, x, x, x, x]\n{}engine: sqlserver\n",
                (b'b'..=b'i')
                    .map(|c| {
                        let prev = char::from(c - 1);
                        let c = char::from(c);
                        format!("{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n")
                    })
                    .collect::<String>()
            ),
        ),
    ]
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3);
    println!("| input | bytes | fastest | slowest | outcome |");
    println!("|---|--:|--:|--:|---|");
    for (name, text) in inputs() {
        let mut times = Vec::with_capacity(rounds);
        let mut outcome = String::new();
        for _ in 0..rounds {
            let start = Instant::now();
            let result = postclone::spec::load_str(Path::new("bench.yaml"), &text);
            times.push(start.elapsed());
            outcome = match result {
                Ok(_) => "loaded".into(),
                Err(postclone::spec::Error::Invalid { problems, .. }) => problems
                    .first()
                    .map(|p| format!("{}: {}", p.code, p.message))
                    .unwrap_or_default(),
                Err(e) => e.to_string(),
            };
        }
        let fastest = times.iter().min().copied().unwrap_or(Duration::ZERO);
        let slowest = times.iter().max().copied().unwrap_or(Duration::ZERO);
        let outcome: String = outcome.chars().take(90).collect();
        println!(
            "| {name} | {} | {:.3} s | {:.3} s | {outcome} |",
            text.len(),
            fastest.as_secs_f64(),
            slowest.as_secs_f64()
        );
    }
}
