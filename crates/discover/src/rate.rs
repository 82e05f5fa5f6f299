//! Rate limiting: a token bucket per host and one for the whole scan. Every connection attempt and
//! every UDP datagram takes one token, so a fragile device never sees more than the configured rate.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A token bucket: `rate` tokens per second, at most `burst` saved up. Waiters reserve tokens in
/// arrival order (the balance may go negative), so the rate holds under any number of waiters.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A bucket refilling at `rate` per second (clamped to at least 0.01) with `burst` capacity
    /// (at least 1), starting full.
    pub fn new(rate: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            rate: rate.max(0.01),
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// The configured rate per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Reserve one token and return how long to wait before using it.
    fn reserve(&self) -> Duration {
        let now = Instant::now();
        let mut st = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (tokens, last) = *st;
        let refilled = (tokens + now.saturating_duration_since(last).as_secs_f64() * self.rate)
            .min(self.burst);
        let left = refilled - 1.0;
        *st = (left, now);
        if left >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-left / self.rate)
        }
    }

    /// Wait until one token is available and take it.
    pub async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// What every connection to one host waits on: that host's bucket, then the scan-wide one.
#[derive(Debug, Clone)]
pub struct Pacer {
    host: std::sync::Arc<TokenBucket>,
    global: std::sync::Arc<TokenBucket>,
}

impl Pacer {
    /// A pacer over a host bucket and the scan-wide bucket.
    pub fn new(host: std::sync::Arc<TokenBucket>, global: std::sync::Arc<TokenBucket>) -> Self {
        Pacer { host, global }
    }

    /// Wait for one token from each bucket.
    pub async fn wait(&self) {
        self.host.acquire().await;
        self.global.acquire().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn holds_the_rate_after_the_burst() {
        let bucket = TokenBucket::new(10.0, 3);
        let start = Instant::now();
        for _ in 0..13 {
            bucket.acquire().await;
        }
        // 3 from the burst, 10 more at 10/s: one second.
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(990) && took <= Duration::from_millis(1100),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_share_the_rate() {
        let bucket = std::sync::Arc::new(TokenBucket::new(20.0, 1));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..41 {
            let b = bucket.clone();
            tasks.push(tokio::spawn(async move { b.acquire().await }));
        }
        for t in tasks {
            t.await.expect("join");
        }
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(1990), "{took:?}");
    }
}
