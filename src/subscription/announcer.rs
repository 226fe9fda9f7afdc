//! When to tell other tabs that this tab moved the log: at once after a quiet spell, then at
//! most once a period while appends keep coming, and once more at the end with the last head.
//!
//! Telling costs a message to every other tab of the origin (a `BroadcastChannel` post, a tenth
//! of a millisecond or more): once per append it was a tenth of every awaited single append's
//! time. The message carries only the head, and a tab that hears it reads what is new from
//! storage, so announcing the last head of a burst tells as much as announcing every one.

/// The announcements' schedule. The web layer posts what it is told to post and, while
/// [`Announcer::armed`], calls [`Announcer::period_over`] once a period.
#[derive(Debug, Default)]
pub struct Announcer {
    /// The head last posted.
    posted: u64,
    /// The newest head this tab reached.
    reached: u64,
    /// A period is running: heads reached in it wait for its end.
    armed: bool,
}

impl Announcer {
    /// This tab moved the log to `head`: the head to post now, if any. The first move after a
    /// quiet period is posted at once and starts a period.
    pub fn moved(&mut self, head: u64) -> Option<u64> {
        self.reached = self.reached.max(head);
        if self.armed {
            return None;
        }
        self.armed = true;
        self.post()
    }

    /// A period ended: the head to post if the log moved during it (and a new period starts),
    /// or nothing, and the announcer is quiet until the next move.
    pub fn period_over(&mut self) -> Option<u64> {
        let due = self.post();
        self.armed = due.is_some();
        due
    }

    /// Whether a period is running (the web layer keeps its timer going).
    pub fn armed(&self) -> bool {
        self.armed
    }

    /// What is still unsaid, for a tab that closes: posted now, since no period will end.
    pub fn flush(&mut self) -> Option<u64> {
        self.armed = false;
        self.post()
    }

    fn post(&mut self) -> Option<u64> {
        (self.reached > self.posted).then(|| {
            self.posted = self.reached;
            self.reached
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_move_is_posted_at_once_and_the_period_ends_quietly() {
        let mut announcer = Announcer::default();
        assert_eq!(announcer.moved(3), Some(3));
        assert!(announcer.armed());
        assert_eq!(announcer.period_over(), None);
        assert!(!announcer.armed());
        assert_eq!(
            announcer.moved(4),
            Some(4),
            "after the quiet period, at once again"
        );
    }

    #[test]
    fn a_burst_is_posted_once_a_period_with_its_last_head() {
        let mut announcer = Announcer::default();
        assert_eq!(announcer.moved(1), Some(1));
        for head in 2..=9 {
            assert_eq!(
                announcer.moved(head),
                None,
                "head {head} waits for the period"
            );
        }
        assert_eq!(announcer.period_over(), Some(9));
        assert!(announcer.armed(), "the burst may go on: another period");
        assert_eq!(announcer.moved(10), None);
        assert_eq!(announcer.period_over(), Some(10));
        assert_eq!(announcer.period_over(), None);
        assert!(!announcer.armed());
    }

    #[test]
    fn closing_posts_what_is_unsaid_and_nothing_twice() {
        let mut announcer = Announcer::default();
        assert_eq!(announcer.moved(5), Some(5));
        assert_eq!(announcer.moved(7), None);
        assert_eq!(announcer.flush(), Some(7));
        assert_eq!(announcer.flush(), None);
        assert_eq!(announcer.period_over(), None);
    }

    #[test]
    fn an_older_head_never_goes_back() {
        let mut announcer = Announcer::default();
        assert_eq!(announcer.moved(8), Some(8));
        assert_eq!(announcer.moved(6), None);
        assert_eq!(announcer.period_over(), None);
    }
}
