package group

// State is a classic group's state, with Kafka's names.
//
//	Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance
//	  ▲                 ▲        │ nobody left                        │ leader's SyncGroup
//	  └─────────────────┼────────┘                                    ▼ written
//	                    └──────── join, leave, expiry ─────────────  Stable
//	Empty ──DeleteGroups──▶ Dead
type State int8

const (
	// Empty: no members; offsets may still be committed with generation -1.
	Empty State = iota
	// PreparingRebalance: waiting for members to (re)join.
	PreparingRebalance
	// CompletingRebalance: JoinGroup answered; waiting for the leader's
	// assignment in SyncGroup.
	CompletingRebalance
	// Stable: the assignment is known to every member.
	Stable
	// Dead: the group has been deleted.
	Dead
)

var stateNames = [...]string{"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "Unknown"
}

// ParseState is the state named s (as ListGroups filters name them,
// compared without case), and whether there is one.
func ParseState(s string) (State, bool) {
	for i, n := range stateNames {
		if equalFold(n, s) {
			return State(i), true
		}
	}
	return 0, false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
