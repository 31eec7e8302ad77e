//! MONITOR connections (`redis.monitor()` in ioredis): a dedicated connection on which
//! the server streams every command it runs. It takes no commands and does not
//! reconnect; each line leaves as a [`Delivery::Message`] of kind
//! [`MessageKind::Monitor`], and the connection ends with `close` then `end`.

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::oneshot;

use super::link::{describe, open_client};
use super::{runtime, ClientOptions, Delivery, Event, MessageKind, Sink};

/// A handle to a MONITOR connection; dropping it (or [`MonitorLink::stop`]) closes it.
pub struct MonitorLink {
    stop: Option<oneshot::Sender<()>>,
}

impl MonitorLink {
    /// Connects (AUTH, SELECT as configured), sends MONITOR, and streams its lines to `sink`.
    pub fn start(options: ClientOptions, sink: Arc<dyn Sink>) -> Self {
        let (stop, mut stopped) = oneshot::channel();
        runtime().spawn(async move {
            let event = |event| sink.deliver(Delivery::Event(event));
            event(Event::Connecting);
            let connected = async {
                let client = open_client(&options, options.db)?;
                client
                    .get_async_monitor()
                    .await
                    .map_err(|e| describe(e, &options.address))
            };
            let connected = tokio::select! {
                result = tokio::time::timeout(options.connect_timeout, connected) => Some(result),
                _ = &mut stopped => None,
            };
            match connected {
                Some(Ok(Ok(monitor))) => {
                    event(Event::Connect);
                    event(Event::Ready);
                    let mut lines = monitor.into_on_message::<String>();
                    loop {
                        tokio::select! {
                            line = lines.next() => match line {
                                Some(line) => sink.deliver(Delivery::Message {
                                    kind: MessageKind::Monitor,
                                    parts: vec![line.into_bytes()],
                                }),
                                None => break,
                            },
                            _ = &mut stopped => break,
                        }
                    }
                }
                Some(Ok(Err((code, message)))) => event(Event::Error { code, message }),
                Some(Err(_)) => event(Event::Error {
                    code: "ETIMEDOUT".into(),
                    message: "connect ETIMEDOUT".into(),
                }),
                None => {}
            }
            event(Event::Close {
                retry_attempt: None,
            });
            event(Event::End);
        });
        Self { stop: Some(stop) }
    }

    /// Closes the connection (idempotent); `close` and `end` follow.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for MonitorLink {
    fn drop(&mut self) {
        self.stop();
    }
}
