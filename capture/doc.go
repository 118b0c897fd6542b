// Package capture records every request omega-listen receives, and what
// became of it, durably; answers queries about them; and tells the rest of
// the program as they happen.
//
// # Store
//
// A Store has two halves in its data dir (the journal's files and frames
// are package capture/internal/journal; the store decides what to index,
// rename and delete):
//
//   - an append-only journal (journal-*.seg), written synchronously by
//     Begin, Finish and Record. Each record is framed with its length, a
//     CRC-32C and a version byte. When one of those calls returns nil, its
//     write(2) has completed, so the record survives the death of the process
//     (SIGKILL, panic, OOM kill) though not of the machine: nothing is
//     fsynced, which keeps a Begin+Finish pair to a few microseconds.
//   - a SQLite index (captures.db, WAL mode) that a background goroutine
//     fills from the journal in one transaction per batch, and that prunes
//     the oldest captures beyond Options.Retain.
//
// The index holds every field of a capture except its request and
// response headers and bodies: for those it holds where they are in the
// journal file they were written to. Once a journal file is complete (the
// store has moved on to the next, or closed) and all its records are
// indexed, it is renamed bodies-*.seg and kept, unchanged, until no capture
// in it is left; if the index never referred to it, it is deleted at once.
// Get and ListFull read headers and bodies from these files. (A store
// written by an earlier omega-listen kept them in captures.db; Open
// upgrades it in place, and its captures keep them there.) So:
//
//   - Delete and retention remove captures from the index at once, but
//     their headers and bodies stay on disk until every capture in the same
//     file (8 MiB of them) is gone too.
//   - A read that races with pruning may find a capture's file gone; it
//     then leaves the capture out, as if it had read a moment later.
//   - Query.Text reads the body of each capture it considers from its
//     file, so it is slower than the other conditions.
//
// Nothing is fsynced but SQLite's checkpoints (WAL mode, synchronous
// NORMAL): the store is built to survive the death of its process, not of
// the machine. After a power failure, the captures of the last half minute
// or so (the kernel's write-back delay) may be lost, or kept without their
// headers and bodies.
//
// Reads (Get, List, ListFull, Count, Delete) first Flush: they wait until
// every record this Store appended before the read is in the index, so a
// read sees every write that returned before it. Captures written by another
// process appear once that process's indexer commits them (a few
// milliseconds).
//
// Several processes may open the same data dir (the listener, and
// `captures list` or `replay` beside it). Each Store writes journal files of
// its own and holds an flock on each until it is indexed and renamed (or
// the store closes). Any store may read any journal or bodies file: they
// are only ever appended to, and renamed once. Open replays the journal
// files nobody holds: those of a store whose process died. Replaying is
// idempotent (records are keyed by capture ID and a begin record never
// overwrites), so a crash during replay is harmless; a replayed file is
// then renamed or deleted like any other. A record cut short at the end of
// a file is dropped; a file damaged before its end is indexed up to the
// damage, and a copy of it is kept as *.damaged. A damaged captures.db is
// never deleted: Open fails and says to move it aside.
//
// Seq is assigned by Begin and Record: microseconds since 1970, bumped so it
// increases within a process. It orders captures within a process exactly
// and across processes by time; if two processes pick the same Seq, the one
// indexed second is moved after everything in the index.
//
// If the disk fails (full, read-only), Begin, Finish and Record return the
// error and record nothing; the store keeps working once the disk does. If
// SQLite fails, the records stay in the journal, the indexer retries, and
// reads return the error until it succeeds.
//
// # Bus
//
// A Bus carries Received (after Begin or Record) and Completed (after
// Finish or Record) events from the store to the code that shows them: a Store given
// Options.Bus is the one publisher of the captures it writes, whoever
// writes them (the receiver, a replay, a backfill). The listener's
// presenters read it through feed.Stream. The delivery contract:
//
//   - Publish never blocks. Each subscriber has a buffer; an event that does
//     not fit is dropped for that subscriber alone.
//   - A subscriber that missed events is always told: once the events queued
//     before the first drop have been read, it receives one Event with
//     Lagged set and MissedFromSeq the lowest Seq among the captures whose
//     events it missed. Events are dropped from the first drop until that
//     Lagged event is delivered, so the subscriber should then re-read from
//     the store every capture with Seq >= MissedFromSeq, and carry on
//     reading events.
//   - Events after a Lagged event may repeat what the re-read found; apply
//     them by capture ID (the later state wins).
//   - Event.Capture is a copy of the capture as it was when published,
//     shared by every subscriber: read it, never modify it. (The copy is
//     shallow: the publisher may set the capture's fields afterwards, but
//     must not modify its maps or slices in place.)
//   - Subscription.Close is idempotent and safe at any time; it closes C()
//     and stops the subscription's goroutine.
//   - A reader that runs a loop of its own (feed.Sub, which merges the
//     listener's notes in) takes a Queue instead of a Subscription: the
//     same buffer and the same guarantees, kept by following Queue's
//     rules, without a goroutine of the bus's in between (a Subscription
//     is a Queue and such a loop).
package capture
