//! Generating commands a user could have sent: random, but the same ones for the same seed
//! number, so that 250 or 100,000 events are one click away and a lesson can be repeated. Each is
//! decided by the rules like any command (payloads drawn from the declared shapes; refusals are
//! counted, not stored) and the events are appended in batches, per aggregate.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::WriteSide;
use super::WriteSideError;
use super::heads::HeadState;
use crate::aggregate::{self, Placement};
use crate::domain::{AggregateType, DomainError};
use crate::event::{EventId, Metadata, ProposedEvent, Timestamp};
use crate::expected::ExpectedVersion;
use crate::random::Random;
use crate::shape::{Shape, Simple};
use crate::store::EventStore;

/// Most commands one call generates.
pub const MAX_GENERATED: usize = 200_000;
/// Commands decided between two writes.
const BATCH: usize = 2_000;

/// What a generation did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Generated {
    /// Commands accepted and stored.
    pub commands: usize,
    /// Commands the rules refused (nothing stored for them).
    pub refused: usize,
    /// Events stored.
    pub events: usize,
    /// Aggregates written to.
    pub aggregates: usize,
}

/// New aggregate ids (`acc-g1`, `acc-g2`, …), skipping any already in use.
#[derive(Default)]
struct FreshIds(u64);

impl FreshIds {
    fn next<T>(
        &mut self,
        prefix: &str,
        pool: &[(String, T)],
        heads: &HashMap<String, HeadState>,
    ) -> String {
        loop {
            self.0 += 1;
            let id = format!("{prefix}g{}", self.0);
            if !heads.contains_key(&id) && !pool.iter().any(|(existing, _)| *existing == id) {
                return id;
            }
        }
    }
}

const WORDS: [&str; 12] = [
    "mug", "tea", "pen", "lamp", "ada", "grace", "alan", "card", "PostNL", "DHL", "blue", "box",
];

/// A value of a shape, drawn at random; `name` is the field's, to make strings look right.
fn draw(shape: &Shape, name: &str, random: &mut Random) -> Value {
    match shape {
        Shape::Object(fields) => {
            let mut map = Map::new();
            for field in fields {
                if field.optional && random.below(2) == 0 {
                    continue;
                }
                map.insert(field.name.clone(), draw(&field.shape, &field.name, random));
            }
            Value::Object(map)
        }
        Shape::Array(item) => {
            let count = 1 + random.below(3);
            Value::Array((0..count).map(|_| draw(item, name, random)).collect())
        }
        Shape::Types(types) => match types.first().copied().unwrap_or(Simple::Null) {
            Simple::String if name.contains("email") => {
                json!(format!("user{}@example.org", random.below(1_000)))
            }
            Simple::String => json!(random.pick(&WORDS).copied().unwrap_or("x")),
            Simple::Integer => json!(1 + random.below(100)),
            Simple::Number => json!(random.below(10_000) as f64 / 100.0),
            Simple::Boolean => json!(random.below(4) != 0),
            Simple::Object | Simple::Any => json!({}),
            Simple::Array => json!([]),
            Simple::Null => Value::Null,
        },
    }
}

impl<S: EventStore> WriteSide<S> {
    /// Generates `count` accepted commands (at most [`MAX_GENERATED`]) from `seed`, over the
    /// aggregates there are and a few new ones of each type, and stores their events.
    pub async fn generate(
        &self,
        count: usize,
        seed: u64,
        now: Timestamp,
    ) -> Result<Generated, WriteSideError> {
        if count > MAX_GENERATED {
            return Err(WriteSideError::bad_input(
                "generate",
                format!("at most {MAX_GENERATED} commands at a time, not {count}"),
            ));
        }
        let mut random = Random::new(seed);
        let mut fresh = FreshIds::default();
        let mut pool = self.aggregate_pool(count, &mut fresh).await?;
        let mut heads: HashMap<String, HeadState> = HashMap::new();
        let mut pending: BTreeMap<String, (u64, Vec<ProposedEvent>)> = BTreeMap::new();
        // Snapshots due along the way (every interval, as appends one by one would take them),
        // taken once their events are written; and the newest per aggregate.
        let mut due: Vec<(String, HeadState)> = Vec::new();
        let mut newest: HashMap<String, u64> = HashMap::new();
        let interval = self.snapshot_interval.get();
        let mut report = Generated {
            commands: 0,
            refused: 0,
            events: 0,
            aggregates: 0,
        };
        let mut position = self.store.head_position().await?;
        let mut touched = std::collections::HashSet::new();
        // Rules that refuse everything a fresh aggregate is sent would never get anywhere.
        let mut replaced = 0usize;
        while report.commands < count && replaced <= count.saturating_mul(4).max(100) {
            let Some(slot) = (!pool.is_empty()).then(|| random.below(pool.len())) else {
                break;
            };
            let Some((aggregate_id, aggregate)) = pool.get(slot).cloned() else {
                break;
            };
            let head = match heads.get(&aggregate_id) {
                Some(head) => head.clone(),
                None => self.head_state(aggregate, &aggregate_id).await?,
            };
            let at = Placement {
                aggregate_id: &aggregate_id,
                version: head.version,
                position,
                metadata: Metadata::at(now + report.commands as Timestamp),
            };
            // Commands in a random order, until the rules accept one: what a user who knows the
            // rules would send next.
            let mut commands: Vec<&str> = aggregate.rules.commands().collect();
            let mut accepted = None;
            while !commands.is_empty() && accepted.is_none() {
                let command = commands.swap_remove(random.below(commands.len()));
                let payload = match aggregate.shapes.command(command) {
                    Some(shape) => draw(shape, command, &mut random),
                    None => json!({}),
                };
                let ids = |_| EventId::new_random();
                match aggregate::decide(
                    &self.domain,
                    aggregate,
                    head.state.clone(),
                    command,
                    &payload,
                    &at,
                    ids,
                ) {
                    Ok(decision) if decision.events.is_empty() => {}
                    Ok(decision) => accepted = Some(decision),
                    Err(DomainError::Rejected { .. }) => report.refused += 1,
                    Err(other) => return Err(other.into()),
                }
            }
            self.domain.pacer().breathe().await?;
            let Some(decision) = accepted else {
                // Nothing more can happen to this one (a shipped order): a new one takes its place.
                let id = fresh.next(aggregate.rules.id_prefix(), &pool, &heads);
                replaced += 1;
                if let Some(entry) = pool.get_mut(slot) {
                    entry.0 = id;
                }
                continue;
            };
            let added = decision.events.len() as u64;
            position += added;
            report.commands += 1;
            report.events += decision.events.len();
            touched.insert(aggregate_id.clone());
            pending
                .entry(aggregate_id.clone())
                .or_insert_with(|| (head.version, Vec::new()))
                .1
                .extend(decision.events);
            let after = HeadState {
                version: head.version + added,
                state: decision.state,
            };
            let last = match newest.get(&aggregate_id) {
                Some(version) => *version,
                None => self
                    .store
                    .newest_snapshot(&aggregate_id, u64::MAX)
                    .await?
                    .map_or(0, |s| s.version),
            };
            if crate::snapshot::is_due(interval, last, after.version) {
                newest.insert(aggregate_id.clone(), after.version);
                due.push((aggregate_id.clone(), after.clone()));
            } else {
                newest.insert(aggregate_id.clone(), last);
            }
            heads.insert(aggregate_id, after);
            if report.commands.is_multiple_of(BATCH) {
                self.write_generated(std::mem::take(&mut pending), &heads)
                    .await?;
                self.take_due(std::mem::take(&mut due)).await;
            }
        }
        self.write_generated(pending, &heads).await?;
        self.take_due(due).await;
        report.aggregates = touched.len();
        Ok(report)
    }

    /// The aggregates a generation writes to: those there are, and new ones of each type.
    async fn aggregate_pool(
        &self,
        count: usize,
        fresh: &mut FreshIds,
    ) -> Result<Vec<(String, &AggregateType)>, WriteSideError> {
        let mut pool = Vec::new();
        for stream in self.store.streams().await? {
            if let Some(aggregate) = self.domain.aggregate_type_of(&stream.aggregate_id) {
                pool.push((stream.aggregate_id, aggregate));
            }
        }
        let new_ones = (count / 500).clamp(3, 200);
        for aggregate in self.domain.aggregate_types() {
            for _ in 0..new_ones {
                let id = fresh.next(aggregate.rules.id_prefix(), &pool, &HashMap::new());
                pool.push((id, aggregate));
            }
        }
        Ok(pool)
    }

    /// Appends what a generation decided, per aggregate, with the version each started from as
    /// the expected version; keeps the decided states and takes the snapshots that are due.
    /// The aggregates' appends are issued together, so that the store commits them as one
    /// group (one storage transaction, one segment) rather than one write per aggregate: with
    /// hundreds of aggregates in the pool, writing them one by one made generating slow down
    /// as the pool grew, and left the log in tiny segments.
    async fn write_generated(
        &self,
        pending: BTreeMap<String, (u64, Vec<ProposedEvent>)>,
        heads: &HashMap<String, HeadState>,
    ) -> Result<(), WriteSideError> {
        let appends =
            pending
                .into_iter()
                .map(|(aggregate_id, (from_version, events))| async move {
                    // The store splits nothing: a batch is at most its limit, so write in pieces.
                    let mut version = from_version;
                    for piece in events.chunks(crate::store::MAX_BATCH) {
                        self.store
                            .append(
                                &aggregate_id,
                                ExpectedVersion::Exact(version),
                                piece.to_vec(),
                            )
                            .await?;
                        version += piece.len() as u64;
                    }
                    Ok::<_, WriteSideError>(aggregate_id)
                });
        for aggregate_id in futures_util::future::try_join_all(appends).await? {
            if let Some(head) = heads.get(&aggregate_id) {
                self.heads.keep_newest(&aggregate_id, head.clone());
            }
        }
        Ok(())
    }

    /// Takes the snapshots a generation found due, now that their events are stored. A
    /// snapshot is only a shortcut: one that cannot be taken is left out.
    async fn take_due(&self, due: Vec<(String, HeadState)>) {
        for (aggregate_id, head) in due {
            if let Some(aggregate) = self.domain.aggregate_type_of(&aggregate_id) {
                let _ = self.save_snapshot(aggregate, &aggregate_id, &head).await;
            }
        }
    }
}

/// The numbers a seed gives are the same every time: generation is repeatable.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_values() {
        let shape = Shape::parse(
            &json!({"items": [{"sku": "string", "qty": "integer"}], "note?": "string"}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let draws = |seed| {
            let mut random = Random::new(seed);
            (0..20)
                .map(|_| draw(&shape, "", &mut random))
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
        assert!(draws(7).iter().all(|v| shape.check(v).is_ok()));
    }
}
