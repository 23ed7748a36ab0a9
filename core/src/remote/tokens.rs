//! The host's token provider, as every request of one app sees it: asked
//! for a token before each request (MSAL answers from its cache), asked to
//! refresh after a 401, and never twice at once. When four parallel
//! downloads meet an expired token together, the host refreshes once and
//! the other three take that token (the `generation` each request saw
//! tells a refresh it waited for from a stale token it holds).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::secret::Secret;

/// What `TokenProvider::token` returns: a boxed future, so the trait stays
/// object-safe (`Arc<dyn TokenProvider>`) without a macro crate.
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = std::result::Result<Secret, String>> + Send + 'a>>;

/// Implemented by the host app (MSAL on the phone, a fixed token in the
/// CLI). `force_refresh`: the last token was refused, get a new one. Async:
/// a provider that waits on the network for a refresh holds no thread of
/// Mooring's meanwhile, and every other call goes on.
pub trait TokenProvider: Send + Sync {
    fn token(&self, force_refresh: bool) -> TokenFuture<'_>;
}

/// A provider that has not answered in this long is treated as having
/// failed (`Error::TokenProvider`), so a host bug cannot stall sync for
/// ever; the next sync asks again.
pub const TOKEN_TIMEOUT: Duration = Duration::from_secs(60);

/// The provider behind one refresh at a time; clones share it (the sync
/// client, its clones and the connectivity probe of one app).
#[derive(Clone)]
pub struct Tokens(Arc<Inner>);

struct Inner {
    provider: Arc<dyn TokenProvider>,
    timeout: Duration,
    /// Completed refreshes so far.
    generation: AtomicU64,
    /// Held while the host refreshes; the token it gave, once it did.
    refresh: tokio::sync::Mutex<Option<Secret>>,
}

impl Tokens {
    pub fn new(provider: Arc<dyn TokenProvider>) -> Tokens {
        Tokens::with_timeout(provider, TOKEN_TIMEOUT)
    }

    pub(crate) fn with_timeout(provider: Arc<dyn TokenProvider>, timeout: Duration) -> Tokens {
        Tokens(Arc::new(Inner {
            provider,
            timeout,
            generation: AtomicU64::new(0),
            refresh: tokio::sync::Mutex::new(None),
        }))
    }

    /// A token for the next request, and the refresh generation it belongs
    /// to (hand it back to `refresh` if the server refuses the token).
    pub async fn get(&self) -> std::result::Result<(u64, Secret), String> {
        let generation = self.0.generation.load(Ordering::Acquire);
        let token = ask(&*self.0.provider, false, self.0.timeout).await?;
        Ok((generation, token))
    }

    /// A fresh token after the server refused one of generation `seen`. If
    /// another request refreshed since (or is refreshing now: this waits
    /// for it), its token is returned and the host is not asked again.
    pub async fn refresh(&self, seen: u64) -> std::result::Result<(u64, Secret), String> {
        let mut last = self.0.refresh.lock().await;
        let now = self.0.generation.load(Ordering::Acquire);
        if now > seen {
            if let Some(token) = last.as_ref() {
                return Ok((now, token.clone()));
            }
        }
        let token = ask(&*self.0.provider, true, self.0.timeout).await?;
        *last = Some(token.clone());
        let now = self.0.generation.fetch_add(1, Ordering::AcqRel) + 1;
        Ok((now, token))
    }
}

async fn ask(
    provider: &dyn TokenProvider,
    force_refresh: bool,
    timeout: Duration,
) -> std::result::Result<Secret, String> {
    match tokio::time::timeout(timeout, provider.token(force_refresh)).await {
        Ok(answer) => answer,
        Err(_) => Err(format!(
            "the token provider did not answer within {} ms",
            timeout.as_millis()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Counts refreshes; each refresh takes a while, as MSAL's does.
    struct Slow {
        refreshes: AtomicUsize,
    }

    impl TokenProvider for Slow {
        fn token(&self, force_refresh: bool) -> TokenFuture<'_> {
            Box::pin(async move {
                if force_refresh {
                    let n = self.refreshes.fetch_add(1, Ordering::SeqCst) + 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(Secret::new(format!("fresh-{n}")))
                } else {
                    Ok(Secret::new("stale"))
                }
            })
        }
    }

    #[tokio::test]
    async fn parallel_refreshes_from_one_stale_token_ask_the_host_once() {
        let slow = Arc::new(Slow {
            refreshes: AtomicUsize::new(0),
        });
        let tokens = Tokens::new(slow.clone());
        let (seen, stale) = tokens.get().await.unwrap();
        assert_eq!(stale.expose(), "stale");
        let all = futures_util::future::join_all((0..8).map(|_| tokens.refresh(seen))).await;
        for got in all {
            let (generation, token) = got.unwrap();
            assert_eq!((generation, token.expose()), (1, "fresh-1"));
        }
        assert_eq!(slow.refreshes.load(Ordering::SeqCst), 1);
        // A token of the new generation refused too: that is a new refresh.
        let (_, again) = tokens.refresh(1).await.unwrap();
        assert_eq!(again.expose(), "fresh-2");
        assert_eq!(slow.refreshes.load(Ordering::SeqCst), 2);
    }

    struct Never;

    impl TokenProvider for Never {
        fn token(&self, _: bool) -> TokenFuture<'_> {
            Box::pin(std::future::pending())
        }
    }

    #[tokio::test]
    async fn a_provider_that_never_answers_fails_after_the_timeout() {
        let tokens = Tokens::with_timeout(Arc::new(Never), Duration::from_millis(20));
        let err = tokens.get().await.unwrap_err();
        assert!(err.contains("did not answer within 20 ms"), "{err}");
        let err = tokens.refresh(0).await.unwrap_err();
        assert!(err.contains("did not answer"), "{err}");
    }
}
