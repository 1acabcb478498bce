package controller

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Kafka's own example (AdminUtils' doc comment): 5 brokers, 10 partitions,
// 3 replicas, start 0 and shift 0.
func TestPlaceMatchesKafkasExample(t *testing.T) {
	got := Place([]int32{0, 1, 2, 3, 4}, 0, 10, 3, 0, 0)
	want := [][]int32{
		{0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 0}, {4, 0, 1},
		{0, 2, 3}, {1, 3, 4}, {2, 4, 0}, {3, 0, 1}, {4, 1, 2},
	}
	assert.Equal(t, want, got)
}

func TestPlaceBalancesLeadersAndNeverRepeatsABroker(t *testing.T) {
	brokers := []int32{1, 2, 3}
	for start := 0; start < 3; start++ {
		for shift := 0; shift < 3; shift++ {
			got := Place(brokers, 0, 9, 3, start, shift)
			leaders := map[int32]int{}
			for _, r := range got {
				leaders[r[0]]++
				seen := map[int32]bool{}
				for _, b := range r {
					assert.False(t, seen[b], "broker %d twice in %v", b, r)
					seen[b] = true
				}
			}
			assert.Equal(t, map[int32]int{1: 3, 2: 3, 3: 3}, leaders, "start %d shift %d", start, shift)
		}
	}
}

// Adding partitions continues the sequence where the existing ones stop.
func TestPlaceContinuesFromTheFirstNewPartition(t *testing.T) {
	all := Place([]int32{0, 1, 2, 3, 4}, 0, 10, 3, 2, 1)
	tail := Place([]int32{0, 1, 2, 3, 4}, 6, 4, 3, 2, 1)
	// Followers may differ (the shift is counted from the first new
	// partition, as in Kafka's assignment from startPartitionId), leaders
	// do not.
	assert.Len(t, tail, 4)
	for i, r := range tail {
		assert.Equal(t, all[6+i][0], r[0], "leaders continue the round robin")
	}
}

func TestPlaceSingleBrokerAndRF1(t *testing.T) {
	assert.Equal(t, [][]int32{{7}, {7}}, Place([]int32{7}, 0, 2, 1, 5, 9))
	assert.Equal(t, [][]int32{{2}, {3}, {1}}, Place([]int32{1, 2, 3}, 0, 3, 1, 1, 0))
}
