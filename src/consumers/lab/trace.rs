//! The run's messages on their links: putting one on a link (each copy its arrow, each arrival
//! scheduled), what became of it, and the trace kept (the newest arrows, and a digest of all).

use super::{Lab, Payload, Scheduled};
use crate::consumers::{Arrow, ArrowKind, CrashPoint, Delivery, Fate, Outcome, Reply, Sent};

/// Most arrows the lab keeps (the newest); older ones are only counted in the digest.
pub(super) const KEPT_ARROWS: usize = 20_000;

/// Where FNV-1a starts.
pub(super) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over bytes, folded into a running digest.
fn fold_digest(digest: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(digest, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Lab {
    pub(super) fn send_down(&mut self, consumer: usize, position: u64, attempt: u32) {
        let Some(event) = self.log.get(position as usize - 1).cloned() else {
            return;
        };
        let now = self.now;
        let sent = self.lanes[consumer].down.send(now, &self.settings.link);
        let delivery = Delivery { attempt, event };
        self.put_on_link(
            consumer,
            ArrowKind::Deliver,
            sent,
            Payload::Delivery(delivery),
            now,
        );
    }

    pub(super) fn send_up(&mut self, consumer: usize, reply: Reply, at: f64) {
        let sent = self.lanes[consumer].up.send(at, &self.settings.link);
        let kind = match reply {
            Reply::Ack { .. } => ArrowKind::Ack,
            Reply::Nack { .. } => ArrowKind::Nack,
            Reply::Subscribe { .. } => ArrowKind::Subscribe,
            Reply::Checkpoint { .. } => ArrowKind::Checkpoint,
        };
        self.put_on_link(consumer, kind, sent, Payload::Reply(reply), at);
    }

    /// Records a message put on a link at `sent_at`, and schedules each copy's arrival.
    pub(super) fn put_on_link(
        &mut self,
        consumer: usize,
        kind: ArrowKind,
        sent: Sent,
        payload: Payload,
        sent_at: f64,
    ) {
        let down = matches!(kind, ArrowKind::Deliver | ArrowKind::Subscribed);
        let (position, event_id, attempt) = match &payload {
            Payload::Subscribed(from) => (*from, None, 0),
            Payload::Delivery(d) => (d.event.position, Some(d.event.event_id), d.attempt),
            Payload::Reply(Reply::Ack { position, event_id }) => (*position, Some(*event_id), 0),
            Payload::Reply(Reply::Nack {
                position,
                event_id,
                attempt,
                ..
            }) => (*position, Some(*event_id), *attempt),
            Payload::Reply(Reply::Subscribe { from }) => (*from, None, 0),
            Payload::Reply(Reply::Checkpoint { position }) => (*position, None, 0),
        };
        let redelivery = kind == ArrowKind::Deliver && attempt > 0;
        if sent.arrivals.is_empty() {
            let id = self.new_arrow(
                consumer,
                kind,
                position,
                event_id,
                attempt,
                sent_at,
                sent.nominal,
                Fate::Lost,
                false,
                redelivery,
            );
            self.lanes[consumer].counts.lost += 1;
            self.finish_arrow(id);
            return;
        }
        for (copy, arrives_at) in sent.arrivals.iter().copied().enumerate() {
            let duplicate = copy > 0;
            if duplicate {
                self.lanes[consumer].counts.duplicated += 1;
            }
            if kind == ArrowKind::Deliver {
                self.lanes[consumer].on_the_way += 1;
            }
            let id = self.new_arrow(
                consumer,
                kind,
                position,
                event_id,
                attempt,
                sent_at,
                arrives_at,
                Fate::InFlight,
                duplicate,
                redelivery,
            );
            self.payloads.insert(id, payload.clone());
            self.schedule(
                arrives_at,
                if down {
                    Scheduled::Down(id)
                } else {
                    Scheduled::Up(id)
                },
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn new_arrow(
        &mut self,
        consumer: usize,
        kind: ArrowKind,
        position: u64,
        event_id: Option<crate::event::EventId>,
        attempt: u32,
        sent_at: f64,
        arrives_at: f64,
        fate: Fate,
        duplicate: bool,
        redelivery: bool,
    ) -> u64 {
        self.arrow_count += 1;
        let id = self.arrow_count;
        self.arrows.push_back(Arrow {
            id,
            consumer,
            kind,
            position,
            event_id,
            attempt,
            sent_at,
            arrives_at,
            fate,
            duplicate,
            redelivery,
            outcome: None,
        });
        while self.arrows.len() > KEPT_ARROWS {
            self.arrows.pop_front();
        }
        id
    }

    pub(super) fn arrow(&self, id: u64) -> Option<&Arrow> {
        let first = self.arrows.front()?.id;
        self.arrows.get(id.checked_sub(first)? as usize)
    }

    pub(super) fn arrow_mut(&mut self, id: u64) -> Option<&mut Arrow> {
        let first = self.arrows.front()?.id;
        self.arrows.get_mut(id.checked_sub(first)? as usize)
    }

    pub(super) fn set_fate(&mut self, id: u64, fate: Fate, outcome: Option<Outcome>) {
        if let Some(arrow) = self.arrow_mut(id) {
            arrow.fate = fate;
            if outcome.is_some() {
                arrow.outcome = outcome;
            }
        }
    }

    /// Adds a finished arrow to the run's digest: a hash of every field of it, what became of
    /// it included (field by field: a JSON text per arrow cost a quarter of a run's time),
    /// summed, so that the digest does not depend on the order arrows finish in (deliveries
    /// handed out together finish in another order than one by one, with the same fates).
    pub(super) fn finish_arrow(&mut self, id: u64) {
        let Some(arrow) = self.arrow(id) else { return };
        let mut digest = FNV_OFFSET;
        for number in [
            arrow.id,
            arrow.consumer as u64,
            arrow.kind as u64,
            arrow.position,
            u64::from(arrow.attempt),
            arrow.sent_at.to_bits(),
            arrow.arrives_at.to_bits(),
            u64::from(arrow.duplicate) | u64::from(arrow.redelivery) << 1,
        ] {
            digest = fold_digest(digest, &number.to_le_bytes());
        }
        if let Some(id) = &arrow.event_id {
            digest = fold_digest(digest, id.as_bytes());
        }
        let fate = match &arrow.fate {
            Fate::InFlight => "inFlight",
            Fate::Arrived => "arrived",
            Fate::Lost => "lost",
            Fate::Partitioned => "partitioned",
            Fate::ConsumerDown => "consumerDown",
        };
        digest = fold_digest(digest, fate.as_bytes());
        let outcome: [&str; 2] = match &arrow.outcome {
            None => ["", ""],
            Some(Outcome::Applied) => ["applied", ""],
            Some(Outcome::Absorbed) => ["absorbed", ""],
            Some(Outcome::Ignored { why }) => ["ignored", why],
            Some(Outcome::Failed { reason }) => ["failed", reason],
            Some(Outcome::Crashed { point, written }) => [
                match point {
                    CrashPoint::BeforeHandling => "crashed before handling",
                    CrashPoint::AfterWrite => "crashed after write",
                    CrashPoint::AfterAck => "crashed after ack",
                },
                if *written { "written" } else { "" },
            ],
        };
        for part in outcome {
            digest = fold_digest(fold_digest(digest, part.as_bytes()), &[0]);
        }
        self.digest = self.digest.wrapping_add(digest);
    }

    /// The arrows kept (the newest), those that overlap `from..to` in time.
    pub fn arrows_between(&self, from: f64, to: f64) -> Vec<Arrow> {
        self.arrows
            .iter()
            .filter(|a| a.sent_at <= to && a.arrives_at >= from)
            .cloned()
            .collect()
    }

    /// One arrow, if it is still kept.
    pub fn arrow_by_id(&self, id: u64) -> Option<Arrow> {
        self.arrow(id).cloned()
    }
}
