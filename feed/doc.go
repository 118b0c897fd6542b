// Package feed is a listener's presentation stream: the one stream of
// events that every presenter (the line printer, the screen, the web page)
// consumes, and the only way the listener tells them anything. Nothing
// calls a presenter directly.
//
// A Stream carries two kinds of events:
//
//   - capture events (Received, Completed, Lagged), which it takes from the
//     capture.Bus that the store publishes on: whatever the store writes, a
//     delivery, a rejected request, a replay, or another process's capture
//     found by the follower, reaches every presenter the same way;
//   - the listener's own news (Note): the tunnel's state, notices and
//     warnings, and the steps of shutdown, published with Stream.Note.
//
// # Guarantees, per subscriber
//
//   - Publishing never blocks, and a slow subscriber never slows the
//     delivery path or another subscriber.
//   - The events of one capture arrive in the order they were written
//     (Received before Completed). There is no total order across captures,
//     nor between capture events and notes: a note published after a
//     capture event may be read before it.
//   - Capture events may be dropped when a subscriber's buffer is full; it is
//     then always told, by one Event with Lagged set and MissedFromSeq the
//     lowest capture Seq it missed (0: unknown, re-read everything). The
//     consumer re-reads the store from that Seq and applies later events by
//     capture ID (the later state wins), since they may repeat what it read.
//   - Notes are never dropped (they are rare and not in the store): each
//     subscriber receives every note published while it is subscribed, in
//     publication order.
//   - A new subscriber first receives the stream's current state as notes:
//     the latest tunnel state and the notices published so far (the most
//     recent ones, up to a bound), so a presenter that starts late (a web
//     page opened mid-run) shows what one that was there from the start
//     shows.
//   - Event.Capture is shared by every subscriber: read it, never modify it.
//   - Sub.Close is idempotent and safe at any time; Sub.Finish ends the
//     subscription once what is queued has been read, so a presenter can
//     show the last shutdown step before it stops.
package feed
