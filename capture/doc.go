// Package capture records every request omega-listen receives, and what
// became of it, durably; answers queries about them; and tells the rest of
// the program as they happen.
//
// # Store
//
// A Store has two halves in its data dir:
//
//   - an append-only journal (journal-*.seg), written synchronously by
//     Begin, Finish and Record. Each record is framed with its length, a
//     CRC-32C and a version byte. When one of those calls returns nil, its
//     write(2) has completed, so the record survives the death of the process
//     (SIGKILL, panic, OOM kill) though not of the machine: records are not
//     fsynced, which keeps a Begin+Finish pair to a few microseconds.
//   - a SQLite index (captures.db, WAL mode) that a background goroutine
//     fills from the journal in one transaction per batch. It deletes a
//     journal file once all its records are committed, and prunes the oldest
//     captures beyond Options.Retain.
//
// Reads (Get, List, ListFull, Count, Delete) first Flush: they wait until
// every record this Store appended before the read is in the index, so a
// read sees every write that returned before it. Captures written by another
// process appear once that process's indexer commits them (a few
// milliseconds).
//
// Several processes may open the same data dir (the listener, and
// `captures list` or `replay` beside it). Each Store writes journal files of
// its own and holds an flock on them while it lives. Open replays, then
// deletes, the journal files nobody holds: those of a store whose process
// died. Replaying is idempotent (records are keyed by capture ID and a begin
// record never overwrites), so a crash during replay is harmless. A record
// cut short at the end of a file is dropped; a file damaged before its end
// is indexed up to the damage and kept as *.damaged. A damaged captures.db
// is never deleted: Open fails and says to move it aside.
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
// Finish or Record) events from the code that stores captures to the code
// that shows them. The delivery contract:
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
package capture
