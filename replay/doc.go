// Package replay sends recorded captures, or events from Omega's own
// delivery history, to the local app again.
//
// Every send goes through the inspector's Forwarder, the same one the
// listener uses, so a replay carries the original's method, headers and
// body byte for byte (plus Omega-Listen-Replay naming the original) and is
// recorded as a new capture whose ReplayOf names the original. The package
// does no printing: the caller gets the new captures back, in the order it
// asked for them, and shows them as it likes (the CLI as lines, the TUI in
// its list).
//
// Selecting what to replay (Select), editing a body (SetField, CheckEdited,
// EditInEditor), sending (Replayer) and reading Omega's history (FromOmega,
// Backfill) are separate steps so the CLI and the TUI can put them together
// differently.
package replay
