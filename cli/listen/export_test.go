package listen

// What the external tests (package listen_test, which run whole command
// lines) also check directly.
var PointsAtReceiver = pointsAtReceiver
