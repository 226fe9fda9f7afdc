//! The log's truth in the consumers lab: a reference read model of the projections the
//! consumers run now, fed every event the lab's store knows, once and in order (a perfect
//! consumer). An event those projections fail on is left out and named, as a consumer parks it:
//! then the fault is the projection's, not the network's.

use std::rc::Rc;

use serde::Serialize;

use crate::domain::Domain;
use crate::event::StoredEvent;
use crate::read_side::{ConsumerModel, QueryLimits, QueryResult};
use crate::sandbox::SandboxError;
use crate::scenario::ProjectionSpec;

/// An event the reference read model could not take.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedEvent {
    /// Its log position.
    pub position: u64,
    /// Why.
    pub reason: String,
}

/// The reference read model and how far it has been fed.
pub struct Truth {
    specs: Vec<ProjectionSpec>,
    strict: bool,
    model: ConsumerModel,
    fed: usize,
    failed: Vec<FailedEvent>,
}

impl Truth {
    /// An empty reference read model of `specs`.
    pub fn open(
        domain: Rc<Domain>,
        specs: Vec<ProjectionSpec>,
        strict: bool,
    ) -> Result<Self, SandboxError> {
        let model = ConsumerModel::open(domain, &specs, ":memory:", None, strict)?;
        Ok(Truth {
            specs,
            strict,
            model,
            fed: 0,
            failed: Vec::new(),
        })
    }

    /// Follows the projections the consumers run now: built again from the log when they
    /// changed (a redeploy).
    pub fn follow(
        &mut self,
        domain: Rc<Domain>,
        specs: Vec<ProjectionSpec>,
    ) -> Result<(), SandboxError> {
        if specs != self.specs {
            *self = Truth::open(domain, specs, self.strict)?;
        }
        Ok(())
    }

    /// Feeds it what the store knows and it has not seen yet.
    pub fn catch_up(&mut self, known: &[StoredEvent]) {
        use crate::consumers::Handler;
        for event in known.get(self.fed..).unwrap_or_default() {
            if let Err(reason) = self.model.apply(event, false) {
                self.failed.push(FailedEvent {
                    position: event.position,
                    reason,
                });
            }
        }
        self.fed = self.fed.max(known.len());
    }

    /// Answers a read-only statement.
    pub fn query(&mut self, sql: &str, limits: &QueryLimits) -> Result<QueryResult, SandboxError> {
        Ok(self.model.query(sql, limits)?)
    }

    /// The events it left out, oldest first.
    pub fn failed(&self) -> &[FailedEvent] {
        &self.failed
    }
}
