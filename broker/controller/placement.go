package controller

// Place spreads n new partitions, numbered from first, over brokers (sorted
// ids of the brokers that may take replicas), each with rf replicas, the
// way Kafka's rack-unaware assignment does (AdminUtils
// .assignReplicasToBrokersRackUnaware, kept by KRaft for explicit
// placement): the first replica of partition p is broker (p + start) mod
// len(brokers), so leaders go round robin; the others follow it at a
// distance that shifts by one every len(brokers) partitions, so followers
// spread too instead of always pairing the same brokers. The first replica
// is the preferred leader.
//
// start and shift are Kafka's random start index and replica shift; the
// controller draws them, so placement itself stays a pure function that
// tests can pin. rf must be between 1 and len(brokers).
func Place(brokers []int32, first, n int32, rf int16, start, shift int) [][]int32 {
	nb := len(brokers)
	out := make([][]int32, n)
	if nb == 0 {
		return out
	}
	start, shift = mod(start, nb), mod(shift, nb)
	for i := range out {
		p := int(first) + i
		if p > 0 && p%nb == 0 {
			shift++
		}
		firstReplica := (p + start) % nb
		replicas := make([]int32, 0, rf)
		replicas = append(replicas, brokers[firstReplica])
		for j := 0; j < int(rf)-1; j++ {
			replicas = append(replicas, brokers[replicaIndex(firstReplica, shift, j, nb)])
		}
		out[i] = replicas
	}
	return out
}

// replicaIndex is Kafka's: the j-th follower of a partition whose first
// replica is at firstReplica, never the first replica itself.
func replicaIndex(firstReplica, shift, j, nb int) int {
	d := 1 + (shift+j)%(nb-1)
	return (firstReplica + d) % nb
}

func mod(a, n int) int {
	a %= n
	if a < 0 {
		a += n
	}
	return a
}
