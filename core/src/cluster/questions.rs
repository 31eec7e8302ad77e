//! Questions the core puts to the JS facade's user functions (a `natMap` function,
//! `dnsLookup`): asked as a cluster event, answered through
//! [`ClusterLink::answer`](super::ClusterLink::answer), awaited with a bound so a
//! function that never calls back cannot stall a slot-map refresh.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::client::{Delivery, Event, Sink};

/// How long a user function has to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// What a user function answered: a value (or none), or its error's message.
pub type Answer = Result<Option<String>, String>;

#[derive(Default)]
pub(super) struct Questions {
    /// Open questions (`kind`, question) and their answer once given.
    open: Mutex<HashMap<(String, String), Option<Answer>>>,
    answered: Notify,
}

impl Questions {
    /// Asks the facade's `kind` function about `question`; `None` when it did not answer
    /// in time.
    pub(super) async fn ask(
        &self,
        sink: &dyn Sink,
        kind: &'static str,
        question: &str,
    ) -> Option<Answer> {
        let key = (kind.to_owned(), question.to_owned());
        self.open.lock().insert(key.clone(), None);
        sink.deliver(Delivery::Event(Event::Cluster {
            name: kind,
            node: question.to_owned(),
            code: String::new(),
            message: String::new(),
        }));
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        loop {
            // Registered before the check, so an answer in between still wakes it.
            let notified = self.answered.notified();
            {
                let mut open = self.open.lock();
                if let Some(Some(_)) = open.get(&key) {
                    return open.remove(&key).flatten();
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                self.open.lock().remove(&key);
                return None;
            }
        }
    }

    /// The facade's answer to a question asked by [`ask`](Self::ask) (ignored once the
    /// question timed out).
    pub(super) fn answer(&self, kind: String, question: String, answer: Answer) {
        if let Some(slot) = self.open.lock().get_mut(&(kind, question)) {
            *slot = Some(answer);
        }
        self.answered.notify_waiters();
    }
}
