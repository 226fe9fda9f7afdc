//! Pacing work through user rules: every script call is counted and now and then timed, long
//! loops give their thread back between slices, and past a budget the slowest function is named
//! to whoever listens, who may stop the work.
//!
//! A share link or an imported file brings a stranger's rules: legal under the script limits,
//! each call may still take many milliseconds, and a replay of thousands of events would freeze
//! the page that runs it. The pacer keeps the host in charge without a clock of its own: the host
//! (the page) gives the time, a way to give the thread back, and an ear for slow work. Natively,
//! with no host, it costs one branch per call and never pauses.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use serde::Serialize;

/// What a host gives the pacer.
pub trait PaceHost {
    /// Milliseconds from a fixed origin, never going back.
    fn now_ms(&self) -> f64;
    /// Resolves once the thread has done other work (input, rendering).
    fn breathe(&self) -> Pin<Box<dyn Future<Output = ()>>>;
    /// Told, past the budget and every so often after, which function is slow.
    fn slow(&self, report: &SlowWork);
    /// Whether the host itself asked to stop (an aborted signal).
    fn stop_requested(&self) -> bool {
        false
    }
}

/// How the pacer slices work and when it calls work slow.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pacing {
    /// Longest run of work between two breaths.
    pub slice_ms: f64,
    /// Work through the rules in one busy period before it is reported.
    pub budget_ms: f64,
    /// A function slower than this per call, past the budget, is named as slow; faster ones only
    /// add up to a long task (a big import of plain rules is not slow rules).
    pub slow_call_ms: f64,
    /// A gap this long between calls ends a busy period.
    pub idle_ms: f64,
    /// Time between two reports of the same busy period.
    pub report_every_ms: f64,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            slice_ms: 12.0,
            budget_ms: 1_000.0,
            slow_call_ms: 0.2,
            idle_ms: 250.0,
            report_every_ms: 500.0,
        }
    }
}

/// What is slow: the function that took most time in the current busy period.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SlowWork {
    /// The script (`account rules`, `upcasters of Deposited`).
    pub script: String,
    /// Its slowest function (`apply_Deposited`).
    pub function: String,
    /// Time spent in it, ms.
    pub function_ms: f64,
    /// How often it was called.
    pub calls: u64,
    /// Time spent in every script of this busy period, ms.
    pub total_ms: f64,
}

impl SlowWork {
    /// Milliseconds per call of the slow function.
    pub fn ms_per_call(&self) -> f64 {
        self.function_ms / self.calls.max(1) as f64
    }
}

/// Work asked to stop, and what was slow in it: scripts turn it into their error
/// (`ScriptError`'s `From`), so it ends the work as the rules' fault, a limit the user drew.
#[derive(Clone, Debug, PartialEq)]
pub struct Stopped(pub SlowWork);

/// Calls of one function, and the time charged to them.
#[derive(Debug)]
struct Tally {
    script: Rc<str>,
    function: Rc<str>,
    /// Calls since the clock was last read.
    pending: u32,
    calls: u64,
    ms: f64,
}

/// The current busy period.
#[derive(Debug, Default)]
struct Period {
    tallies: Vec<Tally>,
    /// When the clock was last read (the end of the last timed call).
    last_read: f64,
    /// The rules' time since the thread was last given back.
    in_slice_ms: f64,
    /// Calls between two reads of the clock: 1 while calls are slow, up to 8 while fast.
    stride: u32,
    since_read: u32,
    reported_at: Option<f64>,
    total_ms: f64,
}

impl Period {
    /// Counts a call of a function, to be settled at the next timed call; true when it is the
    /// function's first call in this period.
    fn count(&mut self, script: &str, function: &str) -> bool {
        match self
            .tallies
            .iter_mut()
            .find(|t| &*t.function == function && &*t.script == script)
        {
            Some(tally) => {
                tally.pending += 1;
                false
            }
            None => {
                self.tallies.push(Tally {
                    script: script.into(),
                    function: function.into(),
                    pending: 1,
                    calls: 0,
                    ms: 0.0,
                });
                true
            }
        }
    }

    /// Settles the calls counted since the last timed one, each taken to have lasted as long
    /// as the timed call (`per_call` ms, ending at `now`), and adapts the stride so that the
    /// clock is read about every quarter to whole millisecond of calls.
    fn settle(&mut self, per_call: f64, now: f64) {
        let pending: u32 = self.tallies.iter().map(|t| t.pending).sum();
        for tally in &mut self.tallies {
            tally.ms += per_call * f64::from(tally.pending);
            tally.calls += u64::from(tally.pending);
            tally.pending = 0;
        }
        let spent = per_call * f64::from(pending);
        self.total_ms += spent;
        self.in_slice_ms += spent;
        self.last_read = now;
        self.since_read = 0;
        self.stride = if spent < 0.25 {
            (self.stride * 2).min(MAX_STRIDE)
        } else if spent > 1.0 {
            (self.stride / 2).max(1)
        } else {
            self.stride
        };
    }

    /// The function charged most time so far, as a report.
    fn slowest(&self) -> Option<SlowWork> {
        let slowest = self.tallies.iter().max_by(|a, b| a.ms.total_cmp(&b.ms))?;
        Some(SlowWork {
            script: slowest.script.to_string(),
            function: slowest.function.to_string(),
            function_ms: slowest.ms,
            calls: slowest.calls,
            total_ms: self.total_ms,
        })
    }
}

/// Counts and times script calls, and gives the thread back between slices of long work.
#[derive(Default)]
pub struct Pacer {
    host: RefCell<Option<Rc<dyn PaceHost>>>,
    pacing: Cell<Option<Pacing>>,
    period: RefCell<Period>,
    stop: Cell<bool>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("paced", &self.host.borrow().is_some())
            .finish_non_exhaustive()
    }
}

/// At most this many calls run untimed: a call after fast ones may be a stranger's slow one,
/// and reading the clock costs a few hundredths of a call.
const MAX_STRIDE: u32 = 8;

impl Pacer {
    /// Paces from now on with this host and these settings.
    pub fn attach(&self, host: Rc<dyn PaceHost>, pacing: Pacing) {
        let now = host.now_ms();
        *self.period.borrow_mut() = Period {
            last_read: now,
            stride: 1,
            ..Period::default()
        };
        *self.host.borrow_mut() = Some(host);
        self.pacing.set(Some(pacing));
    }

    /// Asks the work of the current busy period to stop at its next breath.
    pub fn stop(&self) {
        self.stop.set(true);
    }

    /// Makes a call of a script's function, counting it. Most calls are only counted: every
    /// `stride`-th is timed, and its time stands for each call counted since. Only the calls
    /// are timed, never the time between them: what the page does between two replays (its
    /// storage, its drawing, its idle moments) is not the rules' time.
    pub fn time<T>(&self, script: &str, function: &str, call: impl FnOnce() -> T) -> T {
        // Pacing is set together with the host: without it nothing is counted.
        let Some(pacing) = self.pacing.get() else {
            return call();
        };
        let timed = {
            let mut period = self.period.borrow_mut();
            period.since_read += 1;
            // A function's first call in a period is always timed: a stranger's slow rules
            // after fast ones must not run a long stride of calls before the clock is read.
            let unseen = period.count(script, function);
            period.since_read >= period.stride || unseen
        };
        if !timed {
            return call();
        }
        let Some(host) = self.host.borrow().clone() else {
            return call();
        };
        let before = host.now_ms();
        if before - self.period.borrow().last_read > pacing.idle_ms {
            // Nothing ran through the rules for a while: this call begins a new busy period.
            let mut period = Period {
                last_read: before,
                stride: 1,
                ..Period::default()
            };
            // The old period's count of this call went with it.
            period.count(script, function);
            *self.period.borrow_mut() = period;
            self.stop.set(false);
        }
        let result = call();
        let after = host.now_ms();
        self.period.borrow_mut().settle(after - before, after);
        result
    }

    /// The slowest function of the current busy period, if the period is past its budget and
    /// that function is slow per call.
    pub fn slow_work(&self) -> Option<SlowWork> {
        let pacing = self.pacing.get()?;
        let period = self.period.borrow();
        if period.total_ms < pacing.budget_ms {
            return None;
        }
        // Past the budget, some function has been charged time: the slowest is the one.
        let report = period.slowest()?;
        (report.ms_per_call() >= pacing.slow_call_ms).then_some(report)
    }

    /// Between two steps of long work: gives the thread back if the slice is over, reports slow
    /// work past the budget, and ends the work with the slow function's error if it was asked
    /// to stop.
    pub async fn breathe(&self) -> Result<(), Stopped> {
        let (Some(host), Some(pacing)) = (self.host.borrow().clone(), self.pacing.get()) else {
            return Ok(());
        };
        self.check_stop(host.as_ref(), pacing)?;
        let (slice_over, last_read) = {
            let period = self.period.borrow();
            (period.in_slice_ms >= pacing.slice_ms, period.last_read)
        };
        if !slice_over {
            return Ok(());
        }
        if let Some(report) = self.slow_work() {
            let due = self
                .period
                .borrow()
                .reported_at
                .is_none_or(|at| last_read - at >= pacing.report_every_ms);
            if due {
                self.period.borrow_mut().reported_at = Some(last_read);
                host.slow(&report);
            }
        }
        host.breathe().await;
        // A new slice begins; however long the pause, the work goes on in the same period.
        let now = host.now_ms();
        {
            let mut period = self.period.borrow_mut();
            period.last_read = now;
            period.in_slice_ms = 0.0;
        }
        self.check_stop(host.as_ref(), pacing)
    }

    fn check_stop(&self, host: &dyn PaceHost, pacing: Pacing) -> Result<(), Stopped> {
        if self.stop.get() && host.now_ms() - self.period.borrow().last_read > pacing.idle_ms {
            // A stop asked for work that has ended does not stop the next.
            self.stop.set(false);
        }
        if !self.stop.get() && !host.stop_requested() {
            return Ok(());
        }
        let period = self.period.borrow();
        Err(Stopped(period.slowest().unwrap_or_else(|| SlowWork {
            script: "the rules".into(),
            function: "the work".into(),
            function_ms: 0.0,
            calls: 0,
            total_ms: period.total_ms,
        })))
    }
}
