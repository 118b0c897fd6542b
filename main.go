// Command omega-listen forwards Omega webhook deliveries to a local app,
// records them, and replays them later.
package main

import (
	"os"

	"github.com/omega-listen/omega-listen/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.StdStreams()))
}
