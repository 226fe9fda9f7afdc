//! Whether each consumer's read model answers a question as the log does: its answer beside the
//! log's truth (a reference read model fed every event once, in order), and where they part, in
//! the words a learner reads ("consumer B says acc-001 · 150, the log says acc-001 · 120:
//! position 7 applied twice"). Competing consumers each hold a share of the answer: together
//! they must make the log's.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{ConsumerStatus, LabStatus};

/// A consumer's name on the page: A, B, C, D.
pub fn consumer_name(consumer: usize) -> String {
    char::from_u32(u32::from(b'A') + consumer as u32)
        .map(String::from)
        .unwrap_or_else(|| format!("#{consumer}"))
}

/// An answer's rows (the columns are the question's, the same for every read model).
pub type Rows = Vec<Vec<Value>>;

/// What a consumer's read model answered, as the page got it.
#[derive(Clone, Debug, PartialEq)]
pub enum Answered {
    /// Its rows.
    Rows(Rows),
    /// Its read model could not answer (the statement failed there), with why.
    Failed(String),
    /// Its node is down: nobody answered.
    Down,
}

/// How a consumer's answer stands against the log's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "verdict")]
pub enum Verdict {
    /// It answers as the log does, with nothing left to handle.
    Converged,
    /// It has not handled the whole log yet: its answer may still change.
    CatchingUp {
        /// Positions of the log after its checkpoint.
        behind: u64,
    },
    /// Parked messages hold part of its answer back (replay them once fixed).
    Waiting {
        /// Messages parked.
        parked: usize,
    },
    /// It answers otherwise than the log, for good: only a rebuild mends it.
    Diverged {
        /// The first position it did not apply exactly once, if the lab saw one.
        position: Option<u64>,
    },
    /// Its node is down (crashed, restarting): it does not answer.
    Down,
    /// Its read model could not answer the question.
    Unanswered,
}

/// A consumer's verdict with what the page says about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerVerdict {
    /// The consumer (from 0).
    pub consumer: usize,
    /// Its name (A, B, …).
    pub name: String,
    /// How it stands.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// The same in words.
    pub says: String,
}

/// Every consumer's verdict, and the group's when they compete (their answers together).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdicts {
    /// Each consumer's.
    pub consumers: Vec<ConsumerVerdict>,
    /// Competing consumers' answers together, against the log's.
    pub together: Option<ConsumerVerdict>,
}

/// A row as the page shows it: its values joined by " · ".
fn shown(row: &[Value]) -> String {
    row.iter()
        .map(|value| match value {
            Value::String(text) => text.clone(),
            Value::Null => "NULL".to_string(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Rows as a multiset (the order of an answer without ORDER BY is SQLite's to choose).
fn counted(rows: &[Vec<Value>]) -> BTreeMap<String, (usize, &Vec<Value>)> {
    let mut counts = BTreeMap::new();
    for row in rows {
        let key = Value::Array(row.clone()).to_string();
        counts.entry(key).or_insert((0, row)).0 += 1;
    }
    counts
}

/// Rows of `a` that `b` lacks (as many times as they are missing), in `a`'s order.
fn missing_from<'a>(a: &'a [Vec<Value>], b: &[Vec<Value>]) -> Vec<&'a Vec<Value>> {
    let mut left: BTreeMap<String, usize> = counted(b)
        .into_iter()
        .map(|(key, (n, _))| (key, n))
        .collect();
    a.iter()
        .filter(|row| {
            let key = Value::Array((*row).clone()).to_string();
            match left.get_mut(&key) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    false
                }
                _ => true,
            }
        })
        .collect()
}

/// The first of `rows` about `about` (a value in one of its columns), else the first.
fn first_about<'a>(rows: &[&'a Vec<Value>], about: Option<&str>) -> Option<&'a Vec<Value>> {
    about
        .and_then(|id| {
            rows.iter()
                .find(|row| row.iter().any(|v| v.as_str() == Some(id)))
        })
        .or(rows.first())
        .copied()
}

/// Who answered, with the verbs that agree with it.
struct Who {
    name: String,
    says: &'static str,
    lacks: &'static str,
}

impl Who {
    fn consumer(name: &str) -> Self {
        Who {
            name: format!("consumer {name}"),
            says: "says",
            lacks: "lacks",
        }
    }

    fn together() -> Self {
        Who {
            name: "together, the consumers".to_string(),
            says: "say",
            lacks: "lack",
        }
    }
}

/// `who` says `extra`: beside the log's row about the same thing (the same first value) among
/// `theirs`, if it has one.
fn says_instead(who: &Who, extra: &[Value], theirs: &[&Vec<Value>]) -> String {
    let Who { name, says, .. } = who;
    match theirs.iter().find(|row| row.first() == extra.first()) {
        Some(row) => format!(
            "{name} {says} {}, the log says {}",
            shown(extra),
            shown(row)
        ),
        None => format!("{name} {says} {}, which the log does not", shown(extra)),
    }
}

/// Where `said` parts from the log's `truth`, in words (about the aggregate `about` first, when
/// the lab traced the difference to one); `None` when they agree.
fn difference(
    who: &Who,
    said: &[Vec<Value>],
    truth: &[Vec<Value>],
    about: Option<&str>,
) -> Option<String> {
    let extra = missing_from(said, truth);
    let lacking = missing_from(truth, said);
    match (first_about(&extra, about), first_about(&lacking, about)) {
        (None, None) => None,
        (Some(extra), _) => Some(says_instead(who, extra, &lacking)),
        (None, Some(row)) => Some(format!(
            "{} {} {}, which the log says",
            who.name,
            who.lacks,
            shown(row)
        )),
    }
}

/// The verdict on one consumer whose answer is `said` (its share, when `share`).
fn judge_one(
    status: &ConsumerStatus,
    answered: &Answered,
    truth: &[Vec<Value>],
    share: bool,
    parked: usize,
) -> ConsumerVerdict {
    let name = consumer_name(status.consumer);
    let speaker = Who::consumer(&name);
    let who = &speaker.name;
    let verdict = |verdict, says: String| ConsumerVerdict {
        consumer: status.consumer,
        name: name.clone(),
        verdict,
        says,
    };
    let rows = match answered {
        Answered::Down => {
            return verdict(
                Verdict::Down,
                format!("{who} is down: it answers when it is back"),
            );
        }
        Answered::Failed(why) => {
            return verdict(
                Verdict::Unanswered,
                format!("{who} could not answer: {why}"),
            );
        }
        Answered::Rows(rows) => rows,
    };
    // A competing consumer's answer is a share of the log's: only rows the log lacks count.
    let about = status.diverged.as_ref().map(|d| d.aggregate_id.as_str());
    let parts = if share {
        let theirs: Vec<&Vec<Value>> = truth.iter().collect();
        first_about(&missing_from(rows, truth), about)
            .map(|extra| says_instead(&speaker, extra, &theirs))
    } else {
        difference(&speaker, rows, truth, about)
    };
    let behind = status.behind + status.in_flight as u64;
    match (parts, &status.diverged) {
        (None, _) if behind == 0 && parked > 0 => verdict(
            Verdict::Waiting { parked },
            if share {
                format!(
                    "{who} holds its share so far ({} row(s)), but {parked} parked message(s) wait: fix what failed on them, then replay them",
                    rows.len()
                )
            } else {
                format!(
                    "{who} answers as the log does so far, but {parked} parked message(s) wait: fix what failed on them, then replay them"
                )
            },
        ),
        (None, _) if behind == 0 => verdict(
            Verdict::Converged,
            if share {
                format!(
                    "{who} holds its share ({} row(s)), as the log says",
                    rows.len()
                )
            } else {
                format!("{who} answers as the log does")
            },
        ),
        (None, _) => verdict(
            Verdict::CatchingUp {
                behind: status.behind,
            },
            format!("{who} agrees so far, {} position(s) behind", status.behind),
        ),
        (Some(parts), Some(divergence)) => verdict(
            Verdict::Diverged {
                position: Some(divergence.position),
            },
            format!("{parts}: {}", divergence.says),
        ),
        (Some(parts), None) if behind > 0 => verdict(
            Verdict::CatchingUp {
                behind: status.behind,
            },
            format!(
                "{parts}, {} position(s) behind: it is catching up",
                status.behind
            ),
        ),
        (Some(parts), None) if parked > 0 => verdict(
            Verdict::Waiting { parked },
            format!("{parts}: {parked} parked message(s) hold it back until they are replayed"),
        ),
        (Some(parts), None) => verdict(Verdict::Diverged { position: None }, parts),
    }
}

/// Every consumer's verdict on a question the log's truth answers `truth`: `answers[i]` is
/// consumer `i`'s answer.
pub fn judge(status: &LabStatus, truth: &[Vec<Value>], answers: &[Answered]) -> Verdicts {
    let competing = status.group.is_some();
    let parked_of = |consumer: &ConsumerStatus| {
        status
            .group
            .as_ref()
            .or(consumer.group.as_ref())
            .map_or(0, |g| g.parked.len())
    };
    let consumers: Vec<ConsumerVerdict> = status
        .consumers
        .iter()
        .zip(answers)
        .map(|(consumer, answered)| {
            judge_one(consumer, answered, truth, competing, parked_of(consumer))
        })
        .collect();
    let together = competing.then(|| {
        let all: Rows = answers
            .iter()
            .filter_map(|a| match a {
                Answered::Rows(rows) => Some(rows.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        let parked = status.group.as_ref().map_or(0, |g| g.parked.len());
        let behind = status.consumers.iter().map(|c| c.behind).max().unwrap_or(0);
        let in_flight: usize = status.consumers.iter().map(|c| c.in_flight).sum();
        let down = answers.iter().any(|a| !matches!(a, Answered::Rows(_)));
        let says = difference(&Who::together(), &all, truth, None);
        let (verdict, says) = match says {
            None if parked > 0 && !down => (
                Verdict::Waiting { parked },
                format!("together, the consumers answer as the log does so far, but {parked} parked message(s) wait"),
            ),
            None if behind == 0 && in_flight == 0 && !down => (
                Verdict::Converged,
                "together, the consumers answer as the log does".to_string(),
            ),
            None => (
                Verdict::CatchingUp { behind },
                format!("together, the consumers agree so far, {behind} position(s) behind"),
            ),
            Some(says) if down => (
                Verdict::Down,
                format!("{says}; not every consumer answered"),
            ),
            Some(says) if behind > 0 || in_flight > 0 => (
                Verdict::CatchingUp { behind },
                format!("{says}, {behind} position(s) behind: they are catching up"),
            ),
            Some(says) if parked > 0 => (
                Verdict::Waiting { parked },
                format!("{says}: {parked} parked message(s) hold it back until they are replayed"),
            ),
            Some(says) => (Verdict::Diverged { position: None }, says),
        };
        ConsumerVerdict {
            consumer: status.consumers.len(),
            name: "together".to_string(),
            verdict,
            says,
        }
    });
    Verdicts {
        consumers,
        together,
    }
}
