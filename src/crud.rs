//! The CRUD table the lesson sets beside the log: one row per aggregate, overwritten in place by
//! the same commands and the same rules. It keeps the last state and nothing else: no events, no
//! versions, no history, and no check that the row a writer read is still the row it overwrites.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aggregate;
use crate::domain::{Domain, DomainError};
use crate::event::Timestamp;

/// One row: an aggregate's last state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrudRow {
    /// The aggregate (the row's key).
    pub aggregate_id: String,
    /// Its state as last written.
    pub row: Value,
    /// When it was last written.
    pub updated_at: Timestamp,
    /// How many times it was written: all a CRUD table can say about its past.
    pub writes: u64,
}

/// The whole table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CrudTable {
    rows: BTreeMap<String, CrudRow>,
}

impl CrudTable {
    /// The table as stored (JSON text), or why it cannot be read.
    pub fn from_json(text: &str) -> Result<Self, DomainError> {
        serde_json::from_str(text).map_err(|e| {
            DomainError::bad_input(
                "CRUD table",
                format!("the stored table is not readable: {e}"),
            )
        })
    }

    /// The table as JSON text, to store.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{\"rows\":{}}".into())
    }

    /// Every row, by aggregate id.
    pub fn rows(&self) -> impl Iterator<Item = &CrudRow> {
        self.rows.values()
    }

    /// One row, if it was ever written.
    pub fn row(&self, aggregate_id: &str) -> Option<&CrudRow> {
        self.rows.get(aggregate_id)
    }

    /// Overwrites a row with a state (the table's first fill, from the log's current states).
    pub fn put(&mut self, aggregate_id: &str, state: Value, now: Timestamp) -> &CrudRow {
        let writes = self.rows.get(aggregate_id).map_or(0, |r| r.writes) + 1;
        let row = self
            .rows
            .entry(aggregate_id.to_string())
            .or_insert_with(|| CrudRow {
                aggregate_id: aggregate_id.to_string(),
                row: Value::Null,
                updated_at: now,
                writes,
            });
        row.row = state;
        row.updated_at = now;
        row.writes = writes;
        row
    }

    /// Runs a command the CRUD way: the rules decide on `read` (the row as the writer read it,
    /// by default the row as it is now) and the row is overwritten with the result, whatever
    /// was written meanwhile. A refusal writes nothing.
    pub fn execute(
        &mut self,
        domain: &Domain,
        aggregate_id: &str,
        command: &str,
        payload: &Value,
        read: Option<&Value>,
        now: Timestamp,
    ) -> Result<&CrudRow, DomainError> {
        let aggregate = domain.aggregate_type_of(aggregate_id).ok_or_else(|| {
            DomainError::UnknownAggregate {
                aggregate_id: aggregate_id.to_string(),
                prefixes: domain.id_prefixes(),
            }
        })?;
        let read = read.or_else(|| self.rows.get(aggregate_id).map(|r| &r.row));
        let state =
            aggregate::apply_to_state(domain, aggregate, read, aggregate_id, command, payload)?;
        Ok(self.put(aggregate_id, state, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bank() -> Domain {
        Domain::compile(crate::scenario::shipped("bank").unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Two writers read 100 and each deduct 30: the second overwrites the first. 70, not 40.
    #[test]
    fn two_writers_from_the_same_read_lose_an_update() {
        let domain = bank();
        let mut table = CrudTable::default();
        let created = table
            .execute(
                &domain,
                "acc-1",
                "Create",
                &json!({"balance": 100}),
                None,
                1,
            )
            .unwrap_or_else(|e| panic!("{e}"))
            .row
            .clone();
        for now in [2, 3] {
            table
                .execute(
                    &domain,
                    "acc-1",
                    "Deduct",
                    &json!({"amount": 30}),
                    Some(&created),
                    now,
                )
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let row = table.row("acc-1").unwrap_or_else(|| panic!("no row"));
        assert_eq!((row.row["balance"].clone(), row.writes), (json!(70), 3));
        let again = CrudTable::from_json(&table.to_json()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, table);
    }

    #[test]
    fn a_refused_command_writes_nothing() {
        let domain = bank();
        let mut table = CrudTable::default();
        let refused = table.execute(&domain, "acc-1", "Deduct", &json!({"amount": 5}), None, 1);
        assert!(refused.is_err());
        assert_eq!(table.rows().count(), 0);
        assert!(CrudTable::from_json("not json").is_err());
    }
}
