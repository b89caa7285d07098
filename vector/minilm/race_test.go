//go:build race

package minilm

// raceEnabled is whether the race detector is on: it slows the forward pass
// enough that the tests compare fewer vectors.
const raceEnabled = true
