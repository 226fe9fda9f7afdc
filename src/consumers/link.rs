//! The simulated link between the store and a consumer: latency with jitter, lost, repeated and
//! held-back messages, from its own seeded random stream. Every send draws the same number of
//! random numbers whatever the settings, so that the same seed gives the same faults.

use super::LinkSettings;
use crate::random::Random;

/// One way of a link.
#[derive(Debug, Clone)]
pub struct Link {
    random: Random,
}

/// What became of a message put on a link.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// When each copy arrives: none if it was lost, two if the link repeated it.
    pub arrivals: Vec<f64>,
    /// When it would have arrived, for drawing a lost message.
    pub nominal: f64,
}

impl Link {
    /// A link drawing from its own stream of the seed.
    pub fn new(seed: u64) -> Self {
        Link {
            random: Random::new(seed),
        }
    }

    /// Puts a message on the link at `now`.
    pub fn send(&mut self, now: f64, settings: &LinkSettings) -> Sent {
        let dropped = self.random.chance(settings.drop_percent);
        let duplicated = self.random.chance(settings.duplicate_percent);
        let delay = |random: &mut Random| {
            let jitter = random.unit() * settings.jitter_ms;
            let held = random.chance(20.0);
            let reorder = random.unit() * settings.reorder_ms;
            settings.latency_ms + jitter + if held { reorder } else { 0.0 }
        };
        let first = now + delay(&mut self.random);
        let second = now + delay(&mut self.random);
        let arrivals = match (dropped, duplicated) {
            (true, _) => Vec::new(),
            (false, false) => vec![first],
            (false, true) => vec![first, second.max(first)],
        };
        Sent {
            arrivals,
            nominal: first,
        }
    }
}
