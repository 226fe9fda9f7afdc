//! What the consumers lab hands JS and takes from it: a consumer's answer to the panel's
//! question as the page got it from the worker, the log's truth, and the verdicts.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::truth::FailedEvent;
use crate::consumers::{Answered, ConsumerVerdict};
use crate::web::read_model::dto::QueryAnswer;

/// A consumer's answer as JS passes it: a query answer (`rows`), `{ error }`, or `null` for a
/// node that is down.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum AnswerJs {
    Rows { rows: Vec<Vec<Value>> },
    Error { error: String },
}

impl AnswerJs {
    /// The answer as the verdict reads it.
    pub fn into_answered(answer: Option<AnswerJs>) -> Answered {
        match answer {
            Some(AnswerJs::Rows { rows }) => Answered::Rows(rows),
            Some(AnswerJs::Error { error }) => Answered::Failed(error),
            None => Answered::Down,
        }
    }
}

/// The log's truth as the reference read model answers, with the events it left out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TruthAnswer<'a> {
    #[serde(flatten)]
    pub answer: QueryAnswer,
    /// Events the projections fail on: the reference leaves them out, as consumers park them.
    pub failed: &'a [FailedEvent],
}

/// What `verdicts` resolves to.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerdictsJs<'a> {
    /// The log's answer.
    pub truth: TruthAnswer<'a>,
    /// Each consumer's verdict.
    pub consumers: Vec<ConsumerVerdict>,
    /// Competing consumers' answers together.
    pub together: Option<ConsumerVerdict>,
}
