//! The read side of the `Sandbox` class (only in the whole module: the `read-model` feature):
//! projections and their lifecycle, the query box, and copies of the read model for a worker;
//! their shapes (`dto`), and the read model following the log on the page's timers
//! (`projecting`). Lags ("behind the log") are computed here, so the page only shows them.

pub mod consumers;
mod dto;
pub mod projecting;

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::class::JsSandbox;
use super::convert::{from_json, options, to_js};
use super::runtime::{breathe, promise};
use crate::read_side::{Projected, ProjectionStatus, ProjectorState};
use crate::sandbox::SandboxError;
use crate::sandbox::projecting::CHUNK;
use crate::scenario::ProjectionSpec;
use crate::store::EventStore;
use crate::web::runtime::clock_ms;
use dto::{ProjectionLag, QueryAnswer, QueryOptions, ReadModelInfo, Source};

/// Runs one read-only SQL statement on a copy of a read model (`Sandbox.readModelCopy`), wherever
/// the module is loaded, a worker included: `{ maxRows? (200), timeLimitMs? (2000) }`.
#[wasm_bindgen(js_name = queryCopy, unchecked_return_type = "QueryAnswer")]
pub fn query_copy(
    database: &[u8],
    sql: &str,
    #[wasm_bindgen(unchecked_param_type = "QueryOptions | undefined")] query_options: JsValue,
) -> Result<JsValue, JsValue> {
    let query_options: QueryOptions = options(query_options, "query options")?;
    let started = clock_ms();
    let result = crate::read_side::query_copy(database, sql, &query_options.limits(clock_ms))
        .map_err(SandboxError::from)?;
    let answer = QueryAnswer {
        ms: clock_ms() - started,
        what_if: false,
        as_of: None,
        // The copy knows its tables, not the log's head: `Sandbox.sources` says how far the
        // projections it read are behind.
        sources: Vec::new(),
        result,
    };
    Ok(to_js(&answer)?)
}

/// How far a projection is behind the log's head.
fn source(status: ProjectionStatus, head: u64) -> Source {
    Source {
        behind: head.saturating_sub(status.checkpoint),
        checkpoint: status.checkpoint,
        name: status.name,
    }
}

#[wasm_bindgen(js_class = Sandbox)]
impl JsSandbox {
    /// The read model's projections with their checkpoints, states and how far each is behind
    /// the log's head; the delay before projections follow new events; the read model's
    /// generation.
    #[wasm_bindgen(unchecked_return_type = "Promise<ReadModelInfo>")]
    pub fn projections(&self) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move {
            let head = sandbox.store().head_position().await?;
            let read = sandbox.read()?;
            let projections: Vec<ProjectionLag> = read
                .status()
                .into_iter()
                .map(|status| ProjectionLag {
                    behind: head.saturating_sub(status.checkpoint),
                    status,
                })
                .collect();
            let behind = projections
                .iter()
                .filter(|p| p.status.state == ProjectorState::Running)
                .map(|p| p.behind)
                .max()
                .unwrap_or(0);
            Ok(ReadModelInfo {
                head,
                delay_ms: sandbox.following().delay_ms(),
                location: "in memory, rebuilt from the log when the sandbox opens",
                generation: read.generation(),
                behind,
                projections,
            })
        }))
    }

    /// Brings every running projection up to the head of the log now, in chunks with a breath
    /// between; resolves to what it did.
    #[wasm_bindgen(unchecked_return_type = "Promise<Projected>")]
    pub fn project(&self) -> js_sys::Promise {
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move {
            let mut total = Projected::default();
            // In chunks with a breath between: projecting a long log is many short tasks.
            loop {
                let round = sandbox.project(CHUNK).await?;
                total.stopped.extend(round.stopped);
                if round.applied == 0 {
                    return Ok(total);
                }
                total.applied += round.applied;
                breathe().await;
            }
        }))
    }

    /// Sets how long projections wait before following new events (0 to 60000 ms; 0 = at
    /// once), so that the read model's lag can be seen. A new delay takes effect at once.
    #[wasm_bindgen(js_name = setProjectionDelay)]
    pub fn set_projection_delay(&self, ms: f64) -> Result<(), JsValue> {
        self.guard()?;
        Ok(self.inner.following().set_delay_ms(ms)?)
    }

    /// Pauses a projection: queries see its tables as they are while the log moves on.
    #[wasm_bindgen(js_name = pauseProjection)]
    pub fn pause_projection(&self, name: &str) -> Result<(), JsValue> {
        self.guard()?;
        Ok(self
            .inner
            .read_mut()?
            .pause(name)
            .map_err(SandboxError::from)?)
    }

    /// Restarts a paused, crashed or failed projection from its checkpoint.
    #[wasm_bindgen(js_name = resumeProjection)]
    pub fn resume_projection(&self, name: &str) -> Result<(), JsValue> {
        self.guard()?;
        self.inner
            .read_mut()?
            .resume(name)
            .map_err(SandboxError::from)?;
        self.projecting.schedule();
        Ok(())
    }

    /// Makes a projection crash in its next round, after applying `after` events of it (or all of
    /// a shorter round) and before committing: that round's work is lost with its transaction,
    /// and a restart resumes from the checkpoint.
    #[wasm_bindgen(js_name = crashProjection)]
    pub fn crash_projection(&self, name: &str, after: usize) -> Result<(), JsValue> {
        self.guard()?;
        Ok(self
            .inner
            .read_mut()?
            .crash_next(name, after)
            .map_err(SandboxError::from)?)
    }

    /// Skips the event a failed projection stopped at: parks it in the `parked_events` table with
    /// SQLite's error, and lets the projection go on after it.
    #[wasm_bindgen(js_name = skipEvent, unchecked_return_type = "Promise<void>")]
    pub fn skip_event(&self, projection: String) -> js_sys::Promise {
        let (sandbox, projecting) = (Rc::clone(&self.inner), Rc::clone(&self.projecting));
        promise(self.guarded(async move {
            sandbox.skip(&projection).await?;
            projecting.schedule();
            Ok(())
        }))
    }

    /// Drops a projection's tables and replays it from position 0. If its setup fails, its
    /// tables stay as they were and it is failed, saying why.
    #[wasm_bindgen(js_name = rebuildProjection)]
    pub fn rebuild_projection(&self, name: &str) -> Result<(), JsValue> {
        self.guard()?;
        self.inner
            .read_mut()?
            .rebuild(name)
            .map_err(SandboxError::from)?;
        self.projecting.schedule();
        Ok(())
    }

    /// Replaces the projection definitions; a changed one is paused and marked stale until it
    /// is rebuilt. A definition that does not check (SQL, parameters) changes nothing.
    #[wasm_bindgen(js_name = redefineProjections)]
    pub fn redefine_projections(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ProjectionSpec[]")] specs: JsValue,
    ) -> Result<(), JsValue> {
        self.guard()?;
        let specs: Vec<ProjectionSpec> = from_json(specs, "projections")?;
        self.inner
            .read_mut()?
            .redefine(&specs)
            .map_err(SandboxError::from)?;
        self.projecting.schedule();
        Ok(())
    }

    /// Runs one read-only SQL statement against the read model:
    /// `{ maxRows? (200), timeLimitMs? (2000), exclude?: eventId[], asOf?: position }`. With
    /// `exclude` or `asOf`, the projections are recomputed in a separate database, without those
    /// events or from the log up to that position. The answer says which projections the
    /// statement read and how far each is behind the log.
    #[wasm_bindgen(unchecked_return_type = "Promise<QueryAnswer>")]
    pub fn query(
        &self,
        sql: String,
        #[wasm_bindgen(unchecked_param_type = "QueryOptions | undefined")] query: JsValue,
    ) -> js_sys::Promise {
        let query: Result<QueryOptions, _> = options(query, "query options");
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move {
            let query = query?;
            let limits = query.limits(clock_ms);
            let started = clock_ms();
            let what_if = !query.exclude.is_empty();
            let result = if query.hypothetical() {
                sandbox
                    .with_hypothetical(&query.exclude, query.as_of, |model| {
                        Ok(model.query(&sql, &limits)?)
                    })
                    .await?
            } else {
                sandbox.read_mut()?.query(&sql, &limits)?
            };
            let ms = clock_ms() - started;
            let head = sandbox.store().head_position().await?;
            let sources = if query.hypothetical() {
                Vec::new()
            } else {
                let read = sandbox.read()?;
                let statuses = read.sources(&result.tables);
                statuses.into_iter().map(|s| source(s, head)).collect()
            };
            Ok(QueryAnswer {
                ms,
                what_if,
                as_of: query.as_of,
                sources,
                result,
            })
        }))
    }

    /// The projections that own any of these tables (as a `queryCopy` answer lists them), and
    /// how far each is behind the log: whether that answer may be stale.
    #[wasm_bindgen(
        unchecked_return_type = "Promise<{ name: string; checkpoint: number; behind: number }[]>"
    )]
    pub fn sources(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string[]")] tables: JsValue,
    ) -> js_sys::Promise {
        let tables = from_json::<Vec<String>>(tables, "tables");
        let sandbox = Rc::clone(&self.inner);
        promise(self.guarded(async move {
            let tables = tables?;
            let head = sandbox.store().head_position().await?;
            let statuses = sandbox.read()?.sources(&tables);
            Ok(statuses
                .into_iter()
                .map(|s| source(s, head))
                .collect::<Vec<_>>())
        }))
    }

    /// The read model's generation: it moves on with every change to the tables, so a copy of
    /// the same generation is still current.
    #[wasm_bindgen(js_name = readModelGeneration)]
    pub fn read_model_generation(&self) -> Result<f64, JsValue> {
        self.guard()?;
        Ok(self.inner.read()?.generation() as f64)
    }

    /// A copy of the read model in SQLite's file format, for `queryCopy` in a worker, so that a
    /// long query never blocks the page. `{ exclude?: eventId[], asOf?: position }` copies a
    /// what-if or past read model instead.
    #[wasm_bindgen(js_name = readModelCopy, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn read_model_copy(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ exclude?: string[]; asOf?: number } | undefined")]
        copy: JsValue,
    ) -> js_sys::Promise {
        let copy: Result<QueryOptions, _> = options(copy, "copy options");
        let sandbox = Rc::clone(&self.inner);
        let copying = self.guarded(async move {
            let copy = copy?;
            let bytes = if copy.hypothetical() {
                sandbox
                    .with_hypothetical(&copy.exclude, copy.as_of, |model| Ok(model.to_bytes()?))
                    .await?
            } else {
                sandbox.read_mut()?.to_bytes().map_err(SandboxError::from)?
            };
            Ok(js_sys::Uint8Array::from(&bytes[..]))
        });
        // Bytes cross as bytes, not as JSON.
        future_to_promise(async move { Ok(copying.await?.into()) })
    }
}
