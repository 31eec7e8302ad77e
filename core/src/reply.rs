//! The reply value every backend answers with.

/// A reply in RESP2 shape: what a Redis server, the in-process memory engine or a
/// script returns for one command. The binding turns it into the JS value ioredis
/// would give (nil → `null`, integers → numbers, bulk → string or Buffer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A nil bulk string or nil array (`$-1`, `*-1`).
    Nil,
    /// A status reply such as `OK` or `PONG` (`+…`).
    Status(String),
    /// An integer reply (`:…`).
    Int(i64),
    /// A binary-safe bulk string (`$…`).
    Bulk(Vec<u8>),
    /// An array of replies (`*…`).
    Array(Vec<Reply>),
    /// An error reply (`-…`): the whole text, whose first word is the code
    /// (`ERR`, `WRONGTYPE`, `NOSCRIPT`, …).
    Error(String),
}
