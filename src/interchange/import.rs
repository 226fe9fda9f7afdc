//! Importing a read file into an empty store: check the header and every event against the rules
//! (shapes, handlers, folding) on a scratch copy first, and only then write.

use std::rc::Rc;

use serde::Serialize;

use super::problems::{ImportError, Problems};
use super::{Exchange, Header, rules_hash};
use crate::domain::Domain;
use crate::event::{ProposedEvent, StoredEvent, Timestamp};
use crate::expected::ExpectedVersion;
use crate::store::{EventStore, MAX_BATCH, ReadAll, StoreError};
use crate::write_side::{WriteSide, WriteSideError};

/// Why an import did not happen: the file's problems (nothing was written), or the store's
/// (which may have written a prefix: see [`import_into`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(untagged)]
pub enum InterchangeError {
    /// The file (or link) has problems.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The store refused, or its input did not fit.
    #[error(transparent)]
    Write(#[from] WriteSideError),
}

impl From<StoreError> for InterchangeError {
    fn from(error: StoreError) -> Self {
        InterchangeError::Write(error.into())
    }
}

/// What an import wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary {
    /// The scenario the events were imported under.
    pub scenario: String,
    /// How many events.
    pub events: usize,
    /// How many aggregates.
    pub aggregates: usize,
    /// The file names other rules than these (by hash): its events still passed them.
    pub rules_changed: bool,
}

/// Imports a file's events into an empty store under a domain's rules, in the file's log order.
///
/// Every event is checked first, by appending it to `scratch` (an empty store in memory, of the
/// store's own type where it can be: one write side compiled, not two) exactly as an append
/// would (rules, shapes, upcasting, folding); a problem anywhere writes nothing. The
/// store is written only after that, one aggregate's run of events at a time: a failure of the
/// storage itself part-way (a full disk) leaves a prefix of the log, so callers import into a
/// new store and delete it if this fails.
pub async fn import_into<S: EventStore>(
    store: &S,
    scratch: S,
    domain: Rc<Domain>,
    exchange: &Exchange,
    now: Timestamp,
) -> Result<ImportSummary, InterchangeError> {
    check_against(&domain, exchange)?;
    let held = store.head_position().await?;
    if held > 0 {
        return Err(WriteSideError::bad_input(
            "import",
            format!(
                "this store already holds {held} events: events are imported into an empty store"
            ),
        )
        .into());
    }
    if scratch.head_position().await? > 0 {
        return Err(WriteSideError::bad_input("import", "the scratch store must be empty").into());
    }
    let scratch = WriteSide::open_unseeded(scratch, Rc::clone(&domain));
    for entry in &exchange.entries {
        scratch
            .append(
                &entry.aggregate_id,
                ExpectedVersion::Any,
                vec![entry.event.clone()],
                now,
            )
            .await
            .map_err(|e| ImportError::at(&entry.at, e.to_string()))?;
        // A stranger's rules may be slow: the thread is given back between events.
        domain
            .pacer()
            .breathe()
            .await
            .map_err(WriteSideError::from)?;
    }
    let events = scratch
        .store()
        .read_all(&ReadAll::from_position(1, usize::MAX))
        .await?;
    let mut aggregates = std::collections::HashSet::new();
    for run in events.chunk_by(|a, b| a.aggregate_id == b.aggregate_id) {
        for batch in run.chunks(MAX_BATCH) {
            let first = &batch[0];
            aggregates.insert(first.aggregate_id.clone());
            store
                .append(
                    &first.aggregate_id,
                    ExpectedVersion::Exact(first.version - 1),
                    batch.iter().map(proposal).collect(),
                )
                .await?;
        }
    }
    store.record_scenario(&domain.scenario().to_json()).await?;
    Ok(ImportSummary {
        scenario: domain.scenario().name.clone(),
        events: events.len(),
        aggregates: aggregates.len(),
        rules_changed: exchange
            .header
            .as_ref()
            .and_then(|h| h.rules_hash.as_ref())
            .is_some_and(|hash| *hash != rules_hash(&domain)),
    })
}

fn proposal(event: &StoredEvent) -> ProposedEvent {
    ProposedEvent {
        event_id: event.event_id,
        event_type: event.event_type.clone(),
        schema_version: event.schema_version,
        data: event.data.clone(),
        metadata: event.metadata.clone(),
    }
}

/// Checks a file's header and every event's aggregate, type and schema version against the
/// rules, listing every problem at once.
pub fn check_against(domain: &Domain, exchange: &Exchange) -> Result<(), ImportError> {
    let mut problems = Problems::default();
    if let Some(header) = &exchange.header {
        check_header(domain, header, &mut problems);
    }
    for entry in &exchange.entries {
        let Some(aggregate) = domain.aggregate_type_of(&entry.aggregate_id) else {
            problems.add(
                &entry.at,
                format!(
                    "no aggregate of scenario {} has an id like {:?}; ids start with {}",
                    domain.scenario().name,
                    entry.aggregate_id,
                    domain.id_prefixes().join(" or ")
                ),
            );
            continue;
        };
        let schema = entry.event.schema_version;
        if let Err(e) = domain.check_event_type(aggregate, &entry.event.event_type, schema) {
            problems.add(&entry.at, e.to_string());
        }
    }
    problems.or(())
}

fn check_header(domain: &Domain, header: &Header, problems: &mut Problems) {
    let name = &domain.scenario().name;
    if header.scenario != *name {
        problems.add(
            "header",
            format!(
                "the file holds events of scenario {:?}, not {name}: open {:?} to import it",
                header.scenario.chars().take(64).collect::<String>(),
                header.scenario.chars().take(64).collect::<String>()
            ),
        );
    }
    for (event_type, version) in &header.schema_versions {
        let current = domain.current_schema_version(event_type);
        if *version > current {
            problems.add(
                "header",
                format!(
                    "{event_type} is at schema version {version} in the file; these rules know 1 to {current}: the file was written by newer rules"
                ),
            );
        }
    }
}
