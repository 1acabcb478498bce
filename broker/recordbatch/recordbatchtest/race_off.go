//go:build !race

package recordbatchtest

const raceEnabled = false
