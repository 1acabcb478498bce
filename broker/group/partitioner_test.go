package group

import "testing"

// Vectors are java.lang.String.hashCode and Kafka's Utils.abs(hash) % 50,
// as a JVM computes them (java 17, String.hashCode and the Utils.abs rule).
func TestPartitionForMatchesKafka(t *testing.T) {
	for _, tc := range []struct {
		group string
		hash  int32
		p50   int32
	}{
		{"", 0, 0},
		{"a", 97, 47},
		{"hello", 99162322, 22},
		{"Hello World", -862545276, 26},
		// The famous string whose hashCode is Integer.MIN_VALUE:
		// Utils.abs maps it to 0 (Math.abs would stay negative).
		{"polygenelubricants", -2147483648, 0},
		// Outside the BMP: two UTF-16 code units, 0xD83D 0xDE00.
		{"😀", 1772899, 49},
		{"my-group", -1906497762, 12},
		{"console-consumer-12345", 158455506, 6},
	} {
		if h := javaStringHash(tc.group); h != tc.hash {
			t.Errorf("hash(%q) = %d, want %d", tc.group, h, tc.hash)
		}
		if p := PartitionFor(tc.group, 50); p != tc.p50 {
			t.Errorf("PartitionFor(%q, 50) = %d, want %d", tc.group, p, tc.p50)
		}
	}
	if p := PartitionFor("anything", 1); p != 0 {
		t.Errorf("one partition: got %d", p)
	}
}
