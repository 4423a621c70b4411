//! Running a fleet: stage by stage in `after:` order, the targets of a stage a few at a time,
//! each one a `postclone plan` or `postclone apply` process of its own (the same binary), so
//! that a target runs exactly as it would alone.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::report::{Outcome, Report, Summary, TargetReport, REPORT_VERSION};
use super::{Loaded, OnError, Target};

/// What a fleet run does to each target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `postclone plan --detailed-exitcode`: read only, every stage (held ones included).
    Plan,
    /// `postclone apply --auto-approve`, stage by stage.
    Apply,
}

/// Which targets run; the others are reported `skipped` ("not selected").
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only this stage (a held stage runs only when named here).
    pub stage: Option<String>,
    /// Only these targets.
    pub targets: Vec<String>,
    /// Only the targets this earlier report says failed.
    pub failed_in: Option<Report>,
}

impl Selection {
    fn takes_stage(&self, name: &str) -> bool {
        self.stage.as_deref().is_none_or(|s| s == name)
    }

    fn takes_target(&self, name: &str) -> bool {
        let named = self.targets.is_empty() || self.targets.iter().any(|t| t == name);
        let failed = self.failed_in.as_ref().is_none_or(|r| {
            r.targets
                .iter()
                .any(|t| t.name == name && t.result == Outcome::Failed)
        });
        named && failed
    }
}

/// What a run tells as it goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// A stage starts: how many of its targets run, how many at a time.
    Stage {
        /// The stage.
        name: &'a str,
        /// Targets that run.
        running: usize,
        /// At most this many at once.
        parallel: usize,
    },
    /// A target starts.
    Started {
        /// The target.
        name: &'a str,
    },
    /// A stage is still running, after `seconds`: the targets it waits for.
    Running {
        /// The stage.
        stage: &'a str,
        /// Its targets still running.
        names: &'a [String],
        /// Since the stage started.
        seconds: u64,
    },
    /// A target ended (or was skipped or held).
    Ended(&'a TargetReport),
}

/// Where a run's files go and what it runs.
#[derive(Debug, Clone)]
pub struct Places {
    /// The postclone binary each target runs.
    pub program: PathBuf,
    /// Where each target's output is kept (relative to the fleet's directory, or absolute).
    pub logs: PathBuf,
}

/// A fleet run's outcome: its report, and whether everything selected ended as asked
/// (converged, or only planned changes): nothing failed or was skipped for a failure.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The report.
    pub report: Report,
    /// Nothing failed, and nothing was skipped but what was not selected.
    pub complete: bool,
}

/// Runs `action` on the fleet, as `selection` says; `previous` (an earlier plan's report) says
/// since when a drifted target has drifted.
#[must_use]
pub fn run(
    fleet: &Loaded,
    action: Action,
    (selection, previous): (&Selection, Option<&Report>),
    places: &Places,
    tell: &(dyn Fn(Event<'_>) + Sync),
) -> Ran {
    let started = crate::state::clock::now_utc();
    let mut targets: Vec<TargetReport> = Vec::new();
    let mut converged: Vec<Option<bool>> = vec![None; fleet.fleet.stages.len()];
    let mut complete = true;
    for &s in &fleet.order {
        let stage = &fleet.fleet.stages[s];
        let members = &fleet.members[s];
        let why_not = if !selection.takes_stage(&stage.name) {
            Some((
                Outcome::Skipped,
                format!(
                    "not selected (--stage {})",
                    selection.stage.as_deref().unwrap_or_default()
                ),
            ))
        } else if action == Action::Apply && stage.hold && selection.stage.is_none() {
            Some((
                Outcome::Held,
                format!("held: run it with --stage {}", stage.name),
            ))
        } else if action == Action::Apply {
            waiting_for(fleet, s, &mut converged, places).map(|why| (Outcome::Skipped, why))
        } else {
            None
        };
        if let Some((outcome, reason)) = why_not {
            complete &= outcome != Outcome::Skipped || reason.starts_with("not selected");
            for &t in members {
                let report = not_run(&fleet.fleet.targets[t], &stage.name, outcome, &reason);
                tell(Event::Ended(&report));
                targets.push(report);
            }
            continue;
        }
        let (chosen, unchosen): (Vec<usize>, Vec<usize>) = members
            .iter()
            .partition(|&&t| selection.takes_target(&fleet.fleet.targets[t].name));
        for &t in &unchosen {
            let report = not_run(
                &fleet.fleet.targets[t],
                &stage.name,
                Outcome::Skipped,
                "not selected",
            );
            tell(Event::Ended(&report));
            targets.push(report);
        }
        tell(Event::Stage {
            name: &stage.name,
            running: chosen.len(),
            parallel: stage.parallel.min(chosen.len().max(1)),
        });
        let ran = run_stage(fleet, s, &chosen, action, places, tell);
        // Targets left out are judged, when a later stage asks, by a plan of the whole stage.
        converged[s] = match ran.iter().all(|r| r.result == Outcome::Converged) {
            false => Some(false),
            true if unchosen.is_empty() => Some(true),
            true => None,
        };
        complete &= ran
            .iter()
            .all(|r| matches!(r.result, Outcome::Converged | Outcome::Changes));
        targets.extend(ran);
    }
    for t in &mut targets {
        if t.result == Outcome::Changes {
            t.drifted_since = previous
                .and_then(|p| p.targets.iter().find(|o| o.name == t.name))
                .filter(|o| o.result == Outcome::Changes)
                .and_then(|o| o.drifted_since.clone())
                .or_else(|| t.started.clone());
        }
    }
    Ran {
        report: Report {
            fleet_report: REPORT_VERSION,
            command: match action {
                Action::Plan => "plan",
                Action::Apply => "apply",
            }
            .into(),
            fleet: fleet.path.display().to_string(),
            started,
            finished: crate::state::clock::now_utc(),
            summary: Summary::of(&targets),
            targets,
        },
        complete,
    }
}

/// Why stage `s` cannot start: a stage of its `after:` whose targets are not all converged.
/// One that ran in this run is judged by its results; one that did not is planned now (read
/// only): converged means a plan shows nothing.
fn waiting_for(
    fleet: &Loaded,
    s: usize,
    converged: &mut [Option<bool>],
    places: &Places,
) -> Option<String> {
    for name in &fleet.fleet.stages[s].after {
        let a = fleet.fleet.stages.iter().position(|x| &x.name == name)?;
        let done = match converged[a] {
            Some(done) => done,
            None => {
                let planned: Vec<TargetReport> = fleet.members[a]
                    .iter()
                    .map(|&t| {
                        run_target(fleet, &fleet.fleet.targets[t], name, Action::Plan, places)
                    })
                    .collect();
                let done = planned.iter().all(|r| r.result == Outcome::Converged);
                converged[a] = Some(done);
                done
            }
        };
        if !done {
            return Some(format!("stage {name} has not converged"));
        }
    }
    None
}

fn not_run(target: &Target, stage: &str, result: Outcome, reason: &str) -> TargetReport {
    TargetReport {
        name: target.name.clone(),
        stage: stage.to_string(),
        started: None,
        ended: None,
        result,
        reason: Some(reason.to_string()),
        drifted_since: None,
        journal: None,
        attestation: None,
        log: None,
    }
}

/// Runs the targets `chosen` of stage `s`, `parallel` at a time; with `on_error: stop`, a
/// failure skips those not started yet. Reports in the order of `chosen`.
fn run_stage(
    fleet: &Loaded,
    s: usize,
    chosen: &[usize],
    action: Action,
    places: &Places,
    tell: &(dyn Fn(Event<'_>) + Sync),
) -> Vec<TargetReport> {
    let stage = &fleet.fleet.stages[s];
    let queue: Mutex<VecDeque<usize>> = Mutex::new(chosen.iter().copied().collect());
    let done: Mutex<Vec<(usize, TargetReport)>> = Mutex::new(Vec::new());
    let stopped = AtomicBool::new(false);
    let workers = stage.parallel.clamp(1, chosen.len().max(1));
    let running: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let finished = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                // The guard is consumed by `and_then`: the queue is not held while a target
                // runs.
                scope.spawn(|| {
                    while let Some(t) = queue.lock().ok().and_then(|mut q| q.pop_front()) {
                        let target = &fleet.fleet.targets[t];
                        let report = if stopped.load(Ordering::SeqCst) {
                            not_run(
                                target,
                                &stage.name,
                                Outcome::Skipped,
                                &format!(
                                    "an earlier target of stage {} failed (on_error: stop)",
                                    stage.name
                                ),
                            )
                        } else {
                            tell(Event::Started { name: &target.name });
                            set(&running, &target.name, true);
                            let report = run_target(fleet, target, &stage.name, action, places);
                            set(&running, &target.name, false);
                            report
                        };
                        if report.result == Outcome::Failed && stage.on_error == OnError::Stop {
                            stopped.store(true, Ordering::SeqCst);
                        }
                        tell(Event::Ended(&report));
                        if let Ok(mut d) = done.lock() {
                            d.push((t, report));
                        }
                    }
                })
            })
            .collect();
        scope.spawn(|| still_running(&stage.name, &running, &finished, tell));
        for handle in handles {
            let _ = handle.join();
        }
        finished.store(true, Ordering::SeqCst);
    });
    let mut done = done
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // A target whose run left no report (a worker that stopped) failed: never left out of
    // the report, where an empty stage would read as converged.
    for &t in chosen {
        if !done.iter().any(|(d, _)| *d == t) {
            let report = not_run(
                &fleet.fleet.targets[t],
                &stage.name,
                Outcome::Failed,
                "its run stopped before it reported",
            );
            done.push((t, report));
        }
    }
    done.sort_by_key(|(t, _)| chosen.iter().position(|c| c == t));
    done.into_iter().map(|(_, r)| r).collect()
}

/// How often a stage that is still running says which targets it waits for.
const PROGRESS_EVERY: Duration = Duration::from_secs(30);

/// Adds `name` to the targets running, or takes it out.
fn set(running: &Mutex<Vec<String>>, name: &str, on: bool) {
    if let Ok(mut names) = running.lock() {
        names.retain(|n| n != name);
        if on {
            names.push(name.to_string());
        }
    }
}

/// Every [`PROGRESS_EVERY`] until the stage is `finished`: which of its targets still run.
fn still_running(
    stage: &str,
    running: &Mutex<Vec<String>>,
    finished: &AtomicBool,
    tell: &(dyn Fn(Event<'_>) + Sync),
) {
    let started = Instant::now();
    let mut next = PROGRESS_EVERY;
    while !finished.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
        if started.elapsed() >= next {
            next += PROGRESS_EVERY;
            let names = running.lock().map(|n| n.clone()).unwrap_or_default();
            if !names.is_empty() {
                tell(Event::Running {
                    stage,
                    names: &names,
                    seconds: started.elapsed().as_secs(),
                });
            }
        }
    }
}

/// A name safe in a file name.
fn file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Runs one target's `postclone plan` or `apply` in the fleet's directory; its connection
/// (a reference, best) is handed to that process only, never read here.
fn run_target(
    fleet: &Loaded,
    target: &Target,
    stage: &str,
    action: Action,
    places: &Places,
) -> TargetReport {
    let started = crate::state::clock::now_utc();
    // The time to the second, and a random part: two runs of a target in the same second
    // (a plan, then an apply) keep a log and a journal each.
    let mut unique = [0u8; 4];
    let _ = getrandom::getrandom(&mut unique);
    let stamp: String = started
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .chain(std::iter::once('-'))
        .chain(crate::state::value::hex(&unique).chars())
        .collect();
    let name = file_name(&target.name);
    let log = places.logs.join(format!("{name}-{stamp}.log"));
    let journal = PathBuf::from(crate::journal::DEFAULT_DIR).join(format!("{name}-{stamp}.jsonl"));
    let mut command = Command::new(&places.program);
    match action {
        Action::Plan => command
            .arg("plan")
            .arg(&target.spec)
            .arg("--detailed-exitcode"),
        Action::Apply => command
            .arg("apply")
            .arg(&target.spec)
            .arg("--auto-approve")
            .arg("--journal")
            .arg(&journal),
    };
    // A connection in the fleet's own environment would reach every target: only the
    // target's own is passed on.
    command
        .current_dir(&fleet.dir)
        .env_remove("POSTCLONE_CONNECTION")
        .stdin(Stdio::null());
    if let Some(connection) = &target.connection {
        command.env("POSTCLONE_CONNECTION", connection);
    }
    // The spec's attestation file, and when it was last written before this run: reported
    // only when this run wrote it (one left by an earlier run, where this one refused before
    // it attested, is not this run's).
    let attestation = crate::spec::load(&fleet.dir.join(&target.spec))
        .ok()
        .and_then(|d| d.attestation.map(|a| d.base_dir.join(a.out)))
        .filter(|_| action == Action::Apply);
    let written = |p: &PathBuf| {
        std::fs::metadata(fleet.dir.join(p))
            .and_then(|m| m.modified())
            .ok()
    };
    let before = attestation.as_ref().and_then(written);
    let output = command.output();
    let ended = crate::state::clock::now_utc();
    let (result, reason) = match &output {
        Err(e) => (
            Outcome::Failed,
            format!("cannot run {}: {e}", places.program.display()),
        ),
        Ok(out) => {
            let code = out.status.code();
            let result = match (action, code) {
                (_, Some(0)) => Outcome::Converged,
                (Action::Plan, Some(2)) => Outcome::Changes,
                _ => Outcome::Failed,
            };
            (
                result,
                error_line(&String::from_utf8_lossy(&out.stderr), code),
            )
        }
    };
    let kept = output.as_ref().ok().and_then(|out| {
        let path = fleet.dir.join(&log);
        let _ = std::fs::create_dir_all(path.parent()?);
        std::fs::write(
            &path,
            [out.stdout.as_slice(), out.stderr.as_slice()].concat(),
        )
        .ok()
    });
    let attestation = attestation.filter(|p| written(p).is_some_and(|now| Some(now) != before));
    TargetReport {
        name: target.name.clone(),
        stage: stage.to_string(),
        started: Some(started),
        ended: Some(ended),
        result,
        reason: (result != Outcome::Converged && result != Outcome::Changes).then_some(reason),
        drifted_since: None,
        journal: Some(journal).filter(|j| action == Action::Apply && fleet.dir.join(j).is_file()),
        attestation,
        log: kept.map(|()| log),
    }
}

/// The line that says why a run failed: postclone's `error:` line (secrets already masked
/// there, as in all its output), else its last line, else the exit code.
fn error_line(stderr: &str, code: Option<i32>) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .find(|l| l.starts_with("error:"))
        .or(lines.last())
        .map_or_else(
            || {
                format!(
                    "exit code {}",
                    code.map_or_else(|| "none".into(), |c| c.to_string())
                )
            },
            |l| crate::render::escape::printable(l),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_line_is_postclones_own() {
        let stderr = "warning: something\nerror: refusing to apply: the database is OS_PROD\n  caused by: x\n";
        assert_eq!(
            error_line(stderr, Some(1)),
            "error: refusing to apply: the database is OS_PROD"
        );
        assert_eq!(error_line("", Some(3)), "exit code 3");
        assert_eq!(file_name("qa/eu west"), "qa_eu_west");
    }
}
