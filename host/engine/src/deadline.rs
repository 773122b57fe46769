//! A wall-clock bound per call, for sandboxes that run decisions nobody
//! vouches for (replay of a log that may have been edited): wasmtime's
//! epoch interruption, with one ticker thread per sandbox that advances
//! the engine's epoch and a deadline, in ticks, set before every call.
//!
//! Only such sandboxes enable it. The engine of `eval` and `serve` has no
//! epoch checks in its compiled code (they cost time on every loop and
//! function entry) and keeps its module-cache fingerprint; fuel is what
//! bounds its calls, at the same instruction every time.

use std::fmt;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread;
use std::time::Duration;

use wasmtime::Engine;

/// Ticks a deadline is divided into: a call is cut between one and
/// `1 + 1/TICKS` times its bound after it starts.
const TICKS: u32 = 20;

/// The finest tick: shorter bounds get more ticks rather than a busier
/// ticker.
const SHORTEST_TICK: Duration = Duration::from_millis(1);

/// The bound of every call of one sandbox, in time and in epoch ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadline {
    /// The wall-clock bound per call.
    pub(crate) per_call: Duration,
    /// How long one tick of the epoch is.
    tick: Duration,
    /// Ticks from the start of a call to its deadline: one more than
    /// `per_call` holds, so that no call gets less than its bound.
    pub(crate) ticks: u64,
}

impl Deadline {
    /// The deadline of calls bounded by `per_call` (more than zero).
    pub(crate) fn new(per_call: Duration) -> Deadline {
        let tick = (per_call / TICKS).max(SHORTEST_TICK);
        let whole = per_call.as_nanos().div_ceil(tick.as_nanos());
        Deadline {
            per_call,
            tick,
            ticks: u64::try_from(whole).unwrap_or(u64::MAX - 1) + 1,
        }
    }
}

/// How a bound reads in a message: `10 s`, `200 ms`, `1.5 s`.
pub(crate) struct Shown(pub(crate) Duration);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        if millis < 1000 {
            write!(f, "{millis} ms")
        } else if millis.is_multiple_of(1000) {
            write!(f, "{} s", millis / 1000)
        } else {
            write!(f, "{} s", self.0.as_secs_f64())
        }
    }
}

/// The thread that advances one engine's epoch every tick, for as long as
/// this value lives (the sandbox and its clones share it).
pub(crate) struct Ticker {
    /// Dropping it stops the thread: it waits on the other end.
    _stop: Sender<()>,
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ticker")
    }
}

impl Ticker {
    /// Starts advancing `engine`'s epoch every `deadline.tick`.
    pub(crate) fn start(engine: &Engine, deadline: Deadline) -> std::io::Result<Ticker> {
        let (stop, stopped) = mpsc::channel::<()>();
        let engine = engine.clone();
        thread::Builder::new()
            .name("verdict-deadline".to_owned())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(deadline.tick) {
                    engine.increment_epoch();
                }
            })?;
        Ok(Ticker { _stop: stop })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_never_cuts_a_call_short() {
        let ten = Deadline::new(Duration::from_secs(10));
        assert_eq!((ten.tick, ten.ticks), (Duration::from_millis(500), 21));
        let short = Deadline::new(Duration::from_millis(5));
        assert_eq!((short.tick, short.ticks), (SHORTEST_TICK, 6));
        let odd = Deadline::new(Duration::from_micros(1500));
        assert_eq!((odd.tick, odd.ticks), (SHORTEST_TICK, 3));
    }

    #[test]
    fn bounds_read_in_their_unit() {
        let shown = |d: Duration| Shown(d).to_string();
        assert_eq!(shown(Duration::from_secs(10)), "10 s");
        assert_eq!(shown(Duration::from_millis(200)), "200 ms");
        assert_eq!(shown(Duration::from_millis(1500)), "1.5 s");
    }
}
