package linearizability

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// Group membership facts for hand-written histories: group "g", topic "t".

func assignOp(client int, at int64, gen int32, member string, p int32) Op {
	return Op{Client: client, Kind: KindAssign, Call: at, Return: at + 1, Outcome: OK, Group: "g", Topic: "t", Partition: p,
		Generation: gen, Member: member}
}

// joined: the member entered a generation with nothing new assigned.
func joined(client int, at int64, gen int32, member string) Op {
	return Op{Client: client, Kind: KindAssign, Call: at, Return: at + 1, Outcome: OK, Group: "g", Generation: gen, Member: member}
}

func revokeOp(client int, at int64, gen int32, member string, p int32) Op {
	return Op{Client: client, Kind: KindRevoke, Call: at, Return: at + 2, Outcome: OK, Group: "g", Topic: "t", Partition: p,
		Generation: gen, Member: member}
}

func lostOp(client int, at int64, gen int32, member string, p int32) Op {
	op := revokeOp(client, at, gen, member, p)
	op.Lost = true
	return op
}

// memberCommit is a commit a member sent as a member.
func memberCommit(client int, call, ret int64, gen int32, member string, offset int64, outcome Outcome) Op {
	op := commit(client, call, ret, offset, outcome)
	op.Generation, op.Member = gen, member
	if outcome != OK {
		op.Error = "planted"
	}
	return op
}

// memberFetchOffset is a member's own fetch of its committed offset after
// an assignment.
func memberFetchOffset(client int, call, ret int64, gen int32, member string, offset int64) Op {
	op := fetchOffset(client, call, ret, offset)
	op.Generation, op.Member = gen, member
	return op
}

func recs(p int32, from, to int64) []Record {
	var out []Record
	for o := from; o <= to; o++ {
		out = append(out, rec(p, o, "a"+string(rune('0'+o))))
	}
	return out
}

// groupHistory is a correct hand-over of partition 0 from member m1
// (client 1) to member m2 (client 2) in an eager rebalance, with the
// pieces each planted anomaly changes as parameters.
type groupScenario struct {
	lastCommitA  Outcome // A's commit of 4 (ok)
	bFirst       int64   // B's first polled offset (4)
	bFetched     int64   // what B's own offset fetch read (4)
	revokeA      int64   // when A revokes (70)
	aRejoins     bool    // A enters generation 2 (true)
	aPollsLate   bool    // A polls offset 4 after B was assigned
	aLateCommit  *Op     // a commit A sends after its revoke
	bCommitGen   int32   // the generation of B's commit (2)
	finalCommitB Outcome // B's commit of 6 (ok)
	finalRead    int64   // the last committed-offset read (6)
}

func cleanGroupScenario() groupScenario {
	return groupScenario{lastCommitA: OK, bFirst: 4, bFetched: 4, revokeA: 70, aRejoins: true, bCommitGen: 2, finalCommitB: OK, finalRead: 6}
}

func (s groupScenario) ops() []Op {
	var produces []Op
	for o := int64(0); o <= 5; o++ {
		produces = append(produces, prod(0, 0, o*2, o*2+1, "a"+string(rune('0'+o)), o))
	}
	a := []Op{
		assignOp(1, 20, 1, "m1", 0),
		memberFetchOffset(1, 21, 23, 1, "m1", -1),
		poll(1, 24, 40, recs(0, 0, 2)...),
		memberCommit(1, 41, 45, 1, "m1", 3, OK),
		poll(1, 50, 60, recs(0, 3, 3)...),
		memberCommit(1, 61, 65, 1, "m1", 4, s.lastCommitA),
		revokeOp(1, s.revokeA, 1, "m1", 0),
	}
	if s.aRejoins {
		a = append(a, joined(1, 80, 2, "m1"))
	}
	if s.aPollsLate {
		a = append(a, poll(1, 85, 95, recs(0, 4, 4)...))
	}
	if s.aLateCommit != nil {
		a = append(a, *s.aLateCommit)
	}
	b := []Op{
		assignOp(2, 80, 2, "m2", 0),
		memberFetchOffset(2, 81, 85, 2, "m2", s.bFetched),
		poll(2, 86, 100, recs(0, s.bFirst, 5)...),
		memberCommit(2, 101, 105, s.bCommitGen, "m2", 6, s.finalCommitB),
		revokeOp(2, 200, 2, "m2", 0),
	}
	final := cat(drained(5, 0, 300, 0, 6, recs(0, 0, 5)...), fetchOffset(6, 310, 320, s.finalRead))
	return cat(produces, a, b, final)
}

func TestCleanGroupHistoryPasses(t *testing.T) {
	for name, s := range map[string]groupScenario{
		"hand-over": cleanGroupScenario(),
		// A's last commit timed out: it may or may not have landed, so B
		// may resume at 3 or at 4.
		"indeterminate commit, resumed before it": func() groupScenario {
			s := cleanGroupScenario()
			s.lastCommitA, s.bFirst, s.bFetched = Info, 3, 3
			return s
		}(),
		"indeterminate commit, resumed after it": func() groupScenario {
			s := cleanGroupScenario()
			s.lastCommitA = Info
			return s
		}(),
		// A commits inside its revoke callback: the usual hand-over.
		"commit inside the revoke callback": func() groupScenario {
			s := cleanGroupScenario()
			c := memberCommit(1, 71, 71, 1, "m1", 4, OK)
			s.aLateCommit = &c
			return s
		}(),
		// Commits after the revoke that were refused or timed out are
		// not judged.
		"refused zombie commit": func() groupScenario {
			s := cleanGroupScenario()
			c := memberCommit(1, 110, 115, 1, "m1", 4, Fail)
			s.aLateCommit = &c
			return s
		}(),
		"indeterminate zombie commit": func() groupScenario {
			s := cleanGroupScenario()
			c := memberCommit(1, 110, 115, 1, "m1", 4, Info)
			s.aLateCommit = &c
			s.finalRead = 6
			return s
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			h := hist(s.ops()...)
			requireValid(t, h)
			rep := Check(h, Options{VisualizeDir: t.TempDir()})
			for _, a := range rep.Static.Anomalies {
				t.Log(a)
			}
			require.Empty(t, rep.Static.Anomalies)
			require.Empty(t, rep.Static.Notes)
			require.True(t, rep.OK(), "log %s, offsets %s", rep.Log.Result, rep.Offsets.Result)
			require.Equal(t, 2, rep.Static.Group.Members)
			require.Equal(t, 2, rep.Static.Group.Generations)
			require.Equal(t, 2, rep.Static.Group.Assignments)
			require.Equal(t, 1, rep.Static.Group.Resumes, "B's resume; A started with nothing committed")
			require.Equal(t, 1, rep.Static.Group.Handovers)
		})
	}
}

// groupCases plant each group anomaly in the clean hand-over; they join
// TestEveryAnomalyIsCaught.
func groupCases() []struct {
	name string
	ops  []Op
	want []string
} {
	plant := func(change func(*groupScenario)) []Op {
		s := cleanGroupScenario()
		change(&s)
		return s.ops()
	}
	return []struct {
		name string
		ops  []Op
		want []string
	}{
		{
			// The group committed 4; B starts at 5: a4 was never handed
			// to anyone in the group.
			name: GroupResumeSkip,
			ops:  plant(func(s *groupScenario) { s.bFirst = 5 }),
			want: []string{GroupResumeSkip},
		},
		{
			// The group committed 4 (acknowledged); B starts at 2.
			name: GroupRewind,
			ops:  plant(func(s *groupScenario) { s.bFirst = 2 }),
			want: []string{GroupRewind},
		},
		{
			// B is assigned partition 0 while A, which never began to
			// revoke it, still polls it.
			name: DualOwnership,
			ops:  plant(func(s *groupScenario) { s.revokeA, s.aRejoins, s.aPollsLate = 120, false, true }),
			want: []string{DualOwnership},
		},
		{
			// A commits after its revoke returned, before generation 2
			// formed: its generation is still current, but the partition
			// is no longer its own.
			name: ZombieCommit + " (revoked)",
			ops: plant(func(s *groupScenario) {
				c := memberCommit(1, 75, 78, 1, "m1", 4, OK)
				s.aLateCommit = &c
			}),
			want: []string{ZombieCommit},
		},
		{
			// B owns the partition but its commit carries generation 1
			// after generation 2 formed: the coordinator had to refuse it.
			name: ZombieCommit + " (stale generation)",
			ops:  plant(func(s *groupScenario) { s.bCommitGen = 1 }),
			want: []string{ZombieCommit},
		},
		{
			// The same history's committed offsets regress: the final
			// read finds 4 after B's acknowledged commit of 6. Only the
			// register checks fire.
			name: CommittedOffsetRegression + " (group)",
			ops:  plant(func(s *groupScenario) { s.finalRead = 4 }),
			want: []string{CommittedOffsetRegression},
		},
	}
}

// Membership the checkers must not mistake for anomalies.
func TestGroupFactsRaiseNoFalseAlarms(t *testing.T) {
	cases := map[string][]Op{
		// A's session ended (lost) before B was assigned; A, not yet
		// knowing, polled on: Kafka's zombie consumer, not a broker fault.
		"lost member polls on": func() []Op {
			s := cleanGroupScenario()
			s.aRejoins, s.aPollsLate = false, true
			ops := s.ops()
			for i := range ops {
				if ops[i].Kind == KindRevoke && ops[i].Client == 1 {
					ops[i] = lostOp(1, 96, 1, "m1", 0)
				}
			}
			return ops
		}(),
		// A was evicted (its next assignment names a new member id): the
		// coordinator handed its partition on before A revoked.
		"evicted member revokes late": func() []Op {
			s := cleanGroupScenario()
			s.revokeA, s.aRejoins, s.aPollsLate = 120, false, true
			return append(s.ops(), joined(1, 130, 3, "m1-again"))
		}(),
		// Cooperative: A keeps partition 0 across generations and
		// commits it with the newer generation.
		"kept across generations": cat(prod(0, 0, 0, 1, "a0", 0), prod(0, 0, 2, 3, "a1", 1),
			assignOp(1, 10, 1, "m1", 0), poll(1, 12, 20, rec(0, 0, "a0")), memberCommit(1, 21, 25, 1, "m1", 1, OK),
			joined(1, 30, 2, "m1"), joined(2, 30, 2, "m2"),
			poll(1, 35, 40, rec(0, 1, "a1")), memberCommit(1, 41, 45, 2, "m1", 2, OK),
			drained(5, 0, 100, 0, 2, rec(0, 0, "a0"), rec(0, 1, "a1"))),
		// The first member of a group starts wherever its reset policy
		// says: with nothing committed, where it starts is not judged.
		"nothing committed": cat(prod(0, 0, 0, 1, "a0", 0), prod(0, 0, 2, 3, "a1", 1),
			assignOp(1, 10, 1, "m1", 0), poll(1, 12, 20, rec(0, 1, "a1")),
			drained(5, 0, 100, 0, 2, rec(0, 0, "a0"), rec(0, 1, "a1"))),
		// A poll that was waiting when the member was assigned returns
		// the new assignment's records: no nonmonotonic-poll against the
		// member's earlier ownership.
		"poll spans a reassignment": cat(prod(0, 0, 0, 1, "a0", 0), prod(0, 0, 2, 3, "a1", 1),
			assignOp(1, 10, 1, "m1", 0), poll(1, 12, 20, rec(0, 0, "a0"), rec(0, 1, "a1")),
			memberCommit(1, 21, 25, 1, "m1", 1, Info), revokeOp(1, 30, 1, "m1", 0),
			poll(1, 28, 50, rec(0, 1, "a1")), assignOp(1, 40, 2, "m1", 0),
			drained(5, 0, 100, 0, 2, rec(0, 0, "a0"), rec(0, 1, "a1"))),
	}
	for name, ops := range cases {
		t.Run(name, func(t *testing.T) {
			h := hist(ops...)
			requireValid(t, h)
			rep := Check(h, Options{})
			for _, a := range rep.Static.Anomalies {
				t.Log(a)
			}
			require.Empty(t, rep.Static.Anomalies)
			require.True(t, rep.OK())
		})
	}
	// Without the eviction, the late revoke is dual ownership.
	s := cleanGroupScenario()
	s.revokeA, s.aRejoins, s.aPollsLate = 120, false, true
	require.Equal(t, []string{DualOwnership}, names(CheckStatic(hist(append(s.ops(), joined(1, 130, 3, "m1"))...), Options{}).Anomalies))
}

// The group anomalies name the operations that show them.
func TestGroupAnomaliesNameTheirOperations(t *testing.T) {
	s := cleanGroupScenario()
	s.bFirst = 2
	h := hist(s.ops()...)
	rep := CheckStatic(h, Options{})
	require.Len(t, rep.Anomalies, 1)
	a := rep.Anomalies[0]
	var kinds []Kind
	for _, i := range a.Ops {
		kinds = append(kinds, h[i].Kind)
	}
	require.Equal(t, []Kind{KindCommit, KindAssign, KindPoll}, kinds, "A's commit of 4, B's assignment, B's first poll: %s", a)
	require.Equal(t, "g", a.Group)
	require.Equal(t, int64(2), a.Offset)
}

// The new kinds and fields survive JSON lines, and old histories (without
// them) read as before.
func TestGroupOpsRoundTrip(t *testing.T) {
	h := hist(cleanGroupScenario().ops()...)
	var buf bytes.Buffer
	require.NoError(t, WriteHistory(&buf, h))
	require.Contains(t, buf.String(), `"kind":"assign"`)
	require.Contains(t, buf.String(), `"generation":2,"member":"m2"`)
	back, err := ReadHistory(&buf)
	require.NoError(t, err)
	require.Equal(t, h, back)

	bad := hist(Op{Client: 1, Kind: KindRevoke, Outcome: OK, Group: "g"})
	require.ErrorContains(t, bad.Validate(), "needs a group and a topic")
	bad = hist(Op{Client: 1, Kind: KindAssign, Outcome: OK, Topic: "t"})
	require.ErrorContains(t, bad.Validate(), "needs a group")
}
