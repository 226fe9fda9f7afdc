//! The verdict on each consumer's answer against the log's, table-driven: the same rows in any
//! order converge; a consumer behind is catching up, not diverged; a difference the lab traced
//! to a position says which and how ("position 7 applied twice") with both values; parked
//! messages hold an answer back; a node that is down or cannot answer says so; competing
//! consumers each hold a share, and together must make the log's answer.
#![cfg(not(target_arch = "wasm32"))]

use es_sandbox::consumers::{
    Answered, Divergence, Lab, LabSettings, LabStatus, Parked, Topology, Verdict, judge,
};
use serde_json::{Value, json};

/// Rows from JSON arrays.
fn rows(value: Value) -> Vec<Vec<Value>> {
    serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
}

/// The status of a fresh run of two consumers (independent or competing), to adjust per case.
fn status(topology: Topology) -> LabStatus {
    let settings = LabSettings {
        topology,
        ..LabSettings::default()
    };
    Lab::new(settings, Vec::new(), 0, Vec::new())
        .unwrap_or_else(|e| panic!("{e}"))
        .status()
}

fn twice(position: u64) -> Divergence {
    Divergence {
        position,
        aggregate_id: "acc-002".into(),
        applied: 2,
        says: format!("position {position} (acc-002) applied twice"),
    }
}

fn parked(position: u64) -> Parked {
    Parked {
        number: 0,
        position,
        aggregate_id: "acc-001".into(),
        event_type: "Deposited".into(),
        attempts: 4,
        reason: "deposits: UNIQUE constraint failed".into(),
    }
}

#[test]
fn each_consumer_gets_the_verdict_its_answer_and_progress_earn() {
    let truth = rows(json!([["acc-001", 120], ["acc-002", 40]]));
    let same_reordered = rows(json!([["acc-002", 40], ["acc-001", 120]]));
    let counted_twice = rows(json!([["acc-001", 150], ["acc-002", 40]]));
    let both_off = rows(json!([["acc-001", 150], ["acc-002", 80]]));
    let missing = rows(json!([["acc-001", 120]]));
    type Adjust = fn(&mut LabStatus);
    let cases: Vec<(&str, Answered, Adjust, Verdict, &str)> = vec![
        (
            "same rows, any order",
            Answered::Rows(same_reordered),
            |_| {},
            Verdict::Converged,
            "answers as the log does",
        ),
        (
            "same rows, still behind",
            Answered::Rows(truth.clone()),
            |s| s.consumers[1].behind = 3,
            Verdict::CatchingUp { behind: 3 },
            "agrees so far, 3 position(s) behind",
        ),
        (
            "a deposit applied twice: the row of its account comes first",
            Answered::Rows(both_off),
            |s| s.consumers[1].diverged = Some(twice(7)),
            Verdict::Diverged { position: Some(7) },
            "consumer B says acc-002 · 80, the log says acc-002 · 40: position 7 (acc-002) applied twice",
        ),
        (
            "different while behind",
            Answered::Rows(missing.clone()),
            |s| s.consumers[1].behind = 1,
            Verdict::CatchingUp { behind: 1 },
            "consumer B lacks acc-002 · 40, which the log says, 1 position(s) behind",
        ),
        (
            "different, a message parked",
            Answered::Rows(missing.clone()),
            |s| {
                if let Some(group) = s.consumers[1].group.as_mut() {
                    group.parked.push(parked(5));
                }
            },
            Verdict::Waiting { parked: 1 },
            "1 parked message(s) hold it back",
        ),
        (
            "different for good",
            Answered::Rows(counted_twice),
            |_| {},
            Verdict::Diverged { position: None },
            "consumer B says acc-001 · 150, the log says acc-001 · 120",
        ),
        (
            "the same rows, a message parked",
            Answered::Rows(truth.clone()),
            |s| {
                if let Some(group) = s.consumers[1].group.as_mut() {
                    group.parked.push(parked(5));
                }
            },
            Verdict::Waiting { parked: 1 },
            "answers as the log does so far, but 1 parked message(s) wait",
        ),
        (
            "down",
            Answered::Down,
            |_| {},
            Verdict::Down,
            "consumer B is down",
        ),
        (
            "its read model cannot answer",
            Answered::Failed("no such table: balances".into()),
            |_| {},
            Verdict::Unanswered,
            "could not answer: no such table: balances",
        ),
    ];
    for (case, answered, adjust, verdict, says) in cases {
        let mut status = status(Topology::Independent);
        adjust(&mut status);
        let verdicts = judge(&status, &truth, &[Answered::Rows(truth.clone()), answered]);
        assert_eq!(
            verdicts.consumers[0].verdict,
            Verdict::Converged,
            "{case}: A"
        );
        let b = &verdicts.consumers[1];
        assert_eq!(
            (&b.name, &b.verdict),
            (&"B".to_string(), &verdict),
            "{case}: {}",
            b.says
        );
        assert!(b.says.contains(says), "{case}: {:?} lacks {says:?}", b.says);
        assert!(verdicts.together.is_none(), "{case}: independent consumers");
    }
}

#[test]
fn competing_consumers_each_hold_a_share_and_together_make_the_log() {
    let truth = rows(json!([["acc-001", 120], ["acc-002", 40], ["acc-003", 7]]));
    let a = Answered::Rows(rows(json!([["acc-001", 120], ["acc-003", 7]])));
    let b = Answered::Rows(rows(json!([["acc-002", 40]])));
    let status = status(Topology::Competing);
    let verdicts = judge(&status, &truth, &[a.clone(), b]);
    for v in &verdicts.consumers {
        assert_eq!(v.verdict, Verdict::Converged, "{}", v.says);
        assert!(v.says.contains("holds its share"), "{}", v.says);
    }
    let together = verdicts
        .together
        .unwrap_or_else(|| panic!("no group verdict"));
    assert_eq!(together.verdict, Verdict::Converged, "{}", together.says);

    // A split account: B's row for acc-001 is not the log's, and the two rows together are not
    // the log's either.
    let split = Answered::Rows(rows(json!([["acc-002", 40], ["acc-001", 20]])));
    let verdicts = judge(&status, &truth, &[a.clone(), split]);
    assert_eq!(verdicts.consumers[0].verdict, Verdict::Converged);
    let b = &verdicts.consumers[1];
    assert_eq!(b.verdict, Verdict::Diverged { position: None });
    assert!(
        b.says
            .contains("consumer B says acc-001 · 20, the log says acc-001 · 120"),
        "{}",
        b.says
    );
    let together = verdicts
        .together
        .unwrap_or_else(|| panic!("no group verdict"));
    assert_eq!(
        together.verdict,
        Verdict::Diverged { position: None },
        "{}",
        together.says
    );

    // One of them missing a row while a message is parked: held back, not diverged.
    let mut held = status.clone();
    if let Some(group) = held.group.as_mut() {
        group.parked.push(parked(2));
    }
    let verdicts = judge(&held, &truth, &[a, Answered::Rows(Vec::new())]);
    let together = verdicts
        .together
        .unwrap_or_else(|| panic!("no group verdict"));
    assert_eq!(
        together.verdict,
        Verdict::Waiting { parked: 1 },
        "{}",
        together.says
    );
    assert!(
        together.says.contains("the consumers lack acc-002 · 40"),
        "{}",
        together.says
    );
}
