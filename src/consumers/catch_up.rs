//! The store's side of a catch-up subscription: it sends the log in order from where the
//! consumer asked, a window of messages ahead of what the consumer said it has handled (its
//! checkpoint), and sends the window again from there when the consumer says it is stuck (it
//! repeats its checkpoint) or says nothing for a while. The consumer keeps the checkpoint; the
//! feed only follows it.

/// The feed of one catch-up consumer.
#[derive(Clone, Debug)]
pub struct CatchUpFeed {
    /// How many positions it may send past the consumer's checkpoint.
    window: u64,
    /// How long it waits for the consumer to move on before sending again.
    timeout_ms: f64,
    /// The consumer's checkpoint as last heard (`None`: it has not subscribed).
    heard: Option<u64>,
    /// The next position to send.
    next: u64,
    /// When it last heard of progress, or sent from the checkpoint again.
    since: f64,
    /// Sends of a position it had sent before.
    resends: u64,
    /// The highest position sent so far.
    sent_up_to: u64,
}

impl CatchUpFeed {
    /// A feed with a window and a timeout.
    pub fn new(window: u32, timeout_ms: f64) -> Self {
        CatchUpFeed {
            window: u64::from(window.max(1)),
            timeout_ms,
            heard: None,
            next: 1,
            since: 0.0,
            resends: 0,
            sent_up_to: 0,
        }
    }

    /// The consumer asks for the log from `from` on (it (re)started).
    pub fn subscribe(&mut self, from: u64, now: f64) {
        self.heard = Some(from.saturating_sub(1));
        self.next = from.max(1);
        self.since = now;
    }

    /// The consumer says it has handled the log up to `position`. The same checkpoint again,
    /// while more was sent, means the next one did not arrive in turn: the window is sent again
    /// from there (at most once per timeout).
    pub fn checkpoint(&mut self, position: u64, now: f64) {
        let Some(heard) = self.heard else { return };
        if position > heard {
            self.heard = Some(position);
            self.since = now;
            self.next = self.next.max(position + 1);
        } else if position == heard
            && self.next > position + 1
            && now >= self.since + self.timeout_ms / 4.0
        {
            self.next = position + 1;
            self.since = now;
        }
    }

    /// Positions to send now, given the log's head: the window past the checkpoint; after the
    /// timeout without news, the window again from the checkpoint.
    pub fn dispatch(&mut self, now: f64, head: u64) -> Vec<(u64, bool)> {
        let Some(heard) = self.heard else {
            return Vec::new();
        };
        // The same sum as `next_deadline`'s: a wake-up at that time must find the time out.
        if now >= self.since + self.timeout_ms && self.next > heard + 1 {
            self.next = heard + 1;
            self.since = now;
        }
        let mut sent = Vec::new();
        while self.next <= head && self.next <= heard + self.window {
            let again = self.next <= self.sent_up_to;
            if again {
                self.resends += 1;
            }
            self.sent_up_to = self.sent_up_to.max(self.next);
            sent.push((self.next, again));
            self.next += 1;
        }
        sent
    }

    /// When the feed looks again if the consumer says nothing.
    pub fn next_deadline(&self, head: u64) -> Option<f64> {
        let heard = self.heard?;
        (heard < head).then_some(self.since + self.timeout_ms)
    }

    /// The consumer's checkpoint as last heard.
    pub fn heard(&self) -> u64 {
        self.heard.unwrap_or(0)
    }

    /// How many sends repeated a position.
    pub fn resends(&self) -> u64 {
        self.resends
    }
}
