package mockproject

import (
	"fmt"
	"strings"
)

// BlobPath is the path of sample data file index (from 0).
func BlobPath(index int) string { return fmt.Sprintf("data/blob_%03d.txt", index) }

// Blob returns exactly size bytes of deterministic, printable, poorly
// compressible text for sample data file index: numbered lines of hex digits
// from a splitmix64 sequence seeded by the index.
func Blob(index, size int) string {
	var b strings.Builder
	b.Grow(size + 80)
	state := uint64(index)*0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D
	next := func() uint64 {
		state += 0x9E3779B97F4A7C15
		z := state
		z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
		z = (z ^ z>>27) * 0x94D049BB133111EB
		return z ^ z>>31
	}
	for line := 0; b.Len() < size; line++ {
		fmt.Fprintf(&b, "%06d %016x%016x%016x%016x\n", line, next(), next(), next(), next())
	}
	out := b.String()[:size]
	if size > 0 {
		out = out[:size-1] + "\n"
	}
	return out
}
