package group

import (
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ConsumerProtocolType is the protocol type of Kafka consumers: their
// protocol metadata is a kmsg.ConsumerMemberMetadata.
const ConsumerProtocolType = "consumer"

// Group is one classic group's state machine (Kafka's ClassicGroup with the
// classic-group half of GroupMetadataManager). Every method takes the
// current time and returns what the caller must do; nothing happens between
// calls. It is not safe for concurrent use: the coordinator holds a lock per
// group.
type Group struct {
	cfg Config
	id  string

	state, prevState State
	stateSince       time.Time

	protocolType string // "" until the first member joins
	protocol     string // the chosen protocol; "" when none
	generation   int32
	leader       string // "" when there are no members

	members map[string]*member
	order   []string // member ids in joining order: deterministic iteration
	// pending are members told MEMBER_ID_REQUIRED that have not rejoined
	// yet, with the end of their session.
	pending map[string]time.Time
	static  map[string]string // group.instance.id → member id
	// pendingSync are members that have not sent SyncGroup for this
	// generation.
	pendingSync  map[string]bool
	awaitingJoin int
	// newMemberAdded extends the initial rebalance delay.
	newMemberAdded bool
	supported      map[string]int // protocol → members supporting it
	// subscribed are the consumer group's topics in this generation (nil
	// when unknown: not a consumer group, or undecodable metadata).
	subscribed map[string]bool

	join   joinTimer
	syncAt time.Time // pending-sync deadline
	// syncGen is the generation syncAt belongs to.
	syncGen int32

	offsets map[TopicPartition]Offset

	nextWrite WriteID
	writes    map[WriteID]pendingWrite

	now time.Time // the time of the call being handled
	out Output    // what the call being handled asks for
}

// joinTimer is the group's join deadline: the initial rebalance delay, or
// the rebalance timeout.
type joinTimer struct {
	at      time.Time // zero: not armed
	initial bool
	// delayMs and remainingMs are the initial delay's current step and
	// what is left of the rebalance timeout after it.
	delayMs, remainingMs int32
}

// New returns an empty group.
func New(id string, cfg Config, now time.Time) *Group {
	return &Group{
		cfg:         cfg,
		id:          id,
		state:       Empty,
		prevState:   Empty,
		stateSince:  now,
		members:     map[string]*member{},
		pending:     map[string]time.Time{},
		static:      map[string]string{},
		pendingSync: map[string]bool{},
		supported:   map[string]int{},
		offsets:     map[TopicPartition]Offset{},
		writes:      map[WriteID]pendingWrite{},
	}
}

// ID is the group id.
func (g *Group) ID() string { return g.id }

// State is the group's state.
func (g *Group) State() State { return g.state }

// ProtocolType is the group's protocol type ("" before any member joined).
func (g *Group) ProtocolType() string { return g.protocolType }

// begin starts handling a call at now.
func (g *Group) begin(now time.Time) { g.now = now }

// end returns what the call asks for.
func (g *Group) end() Output {
	out := g.out
	g.out = Output{}
	return out
}

func (g *Group) reply(r Reply) {
	if r.To != 0 {
		g.out.Replies = append(g.out.Replies, r)
	}
}

// write asks for records to be appended; pw says what to do when they are.
func (g *Group) write(records []Record, pw pendingWrite) {
	g.nextWrite++
	g.writes[g.nextWrite] = pw
	g.out.Writes = append(g.out.Writes, Write{ID: g.nextWrite, Records: records})
}

func (g *Group) transition(to State) {
	g.prevState, g.state = g.state, to
	g.stateSince = g.now
}

// rebalanceTimeoutMs is the largest rebalance timeout of the members.
func (g *Group) rebalanceTimeoutMs() int32 {
	var max int32
	for _, m := range g.members {
		if m.rebalanceTimeoutMs > max {
			max = m.rebalanceTimeoutMs
		}
	}
	return max
}

func (g *Group) allJoined() bool {
	return len(g.members) == g.awaitingJoin && len(g.pending) == 0
}

// add makes m a member, waiting in JoinGroup w (0: not waiting).
func (g *Group) add(m *member, w Waiter) {
	if m.instanceID != nil {
		g.static[*m.instanceID] = m.id
	}
	if len(g.members) == 0 {
		g.protocolType = m.protocolType
	}
	g.members[m.id] = m
	g.order = append(g.order, m.id)
	g.addSupported(m, 1)
	m.joinWaiter = w
	if w != 0 {
		g.awaitingJoin++
	}
	delete(g.pending, m.id)
	if g.leader == "" {
		g.leader = m.id
	}
}

// remove drops a member. Its parked requests, if any, get
// UNKNOWN_MEMBER_ID: a reply is never left hanging.
func (g *Group) remove(id string) {
	if m := g.members[id]; m != nil {
		g.completeJoin(m, JoinResult{Err: ErrUnknownMemberID})
		g.completeSync(m, SyncResult{Err: ErrUnknownMemberID})
		g.addSupported(m, -1)
		if m.instanceID != nil && g.static[*m.instanceID] == id {
			delete(g.static, *m.instanceID)
		}
		delete(g.members, id)
		g.order = slices.DeleteFunc(g.order, func(s string) bool { return s == id })
	}
	if g.leader == id {
		g.leader = ""
		if len(g.order) > 0 {
			g.leader = g.order[0]
		}
	}
	delete(g.pending, id)
	delete(g.pendingSync, id)
}

func (g *Group) addSupported(m *member, d int) {
	for _, p := range m.protocols {
		g.supported[p.Name] += d
		if g.supported[p.Name] <= 0 {
			delete(g.supported, p.Name)
		}
	}
}

// updateMember replaces a member's protocols and timeouts from a rejoin,
// and parks it in JoinGroup w (0: not waiting).
func (g *Group) updateMember(m *member, protocols []Protocol, rebalanceMs, sessionMs int32, w Waiter) {
	g.addSupported(m, -1)
	m.protocols = protocols
	g.addSupported(m, 1)
	m.rebalanceTimeoutMs, m.sessionTimeoutMs = rebalanceMs, sessionMs
	switch {
	case w != 0 && m.joinWaiter == 0:
		g.awaitingJoin++
	case w == 0 && m.joinWaiter != 0:
		g.awaitingJoin--
	case w != 0 && m.joinWaiter != 0 && w != m.joinWaiter:
		// The member joined again while its previous JoinGroup was
		// parked (a retry on another connection): answer the old one
		// so it never hangs.
		g.reply(Reply{To: m.joinWaiter, Join: &JoinResult{Err: ErrRebalanceInProgress, MemberID: m.id}})
	}
	m.joinWaiter = w
}

// completeJoin answers a member's parked JoinGroup, if there is one.
func (g *Group) completeJoin(m *member, r JoinResult) bool {
	if m.joinWaiter == 0 {
		return false
	}
	g.reply(Reply{To: m.joinWaiter, Join: &r})
	m.joinWaiter = 0
	g.awaitingJoin--
	return true
}

// completeSync answers a member's parked SyncGroup, if there is one.
func (g *Group) completeSync(m *member, r SyncResult) bool {
	if m.syncWaiter == 0 {
		return false
	}
	g.reply(Reply{To: m.syncWaiter, Sync: &r})
	m.syncWaiter = 0
	return true
}

// supportsProtocols is Kafka's check that a joining member fits the group:
// any protocol type and at least one protocol into an empty group;
// otherwise the group's protocol type and a protocol every member supports.
func (g *Group) supportsProtocols(protocolType string, protocols []Protocol) bool {
	if g.state == Empty {
		return protocolType != "" && len(protocols) > 0
	}
	if protocolType != g.protocolType {
		return false
	}
	for _, p := range protocols {
		if g.supported[p.Name] == len(g.members) {
			return true
		}
	}
	return false
}

// validateMember is Kafka's ClassicGroup.validateMember: a static member's
// instance id must map to its member id.
func (g *Group) validateMember(memberID string, instanceID *string) error {
	if instanceID != nil {
		known, ok := g.static[*instanceID]
		switch {
		case !ok:
			return ErrUnknownMemberID
		case known != memberID:
			return ErrFencedInstanceID
		}
		return nil
	}
	if g.members[memberID] == nil {
		return ErrUnknownMemberID
	}
	return nil
}

// selectProtocol is Kafka's rule: among the protocols every member
// supports, each member votes for the first one in its own preference
// order; the most votes win. Ties go to the smallest name, so the choice is
// deterministic (Kafka leaves it to a hash map's order).
func (g *Group) selectProtocol() string {
	candidates := map[string]bool{}
	for name, n := range g.supported {
		if n == len(g.members) {
			candidates[name] = true
		}
	}
	votes := map[string]int{}
	for _, id := range g.order {
		if v := g.members[id].vote(candidates); v != "" {
			votes[v]++
		}
	}
	best, bestVotes := "", 0
	for _, name := range slices.Sorted(maps.Keys(votes)) {
		if votes[name] > bestVotes {
			best, bestVotes = name, votes[name]
		}
	}
	return best
}

// computeSubscribed decodes the consumer members' subscriptions for the
// chosen protocol (Kafka's computeSubscribedTopics): OffsetDelete refuses
// to delete offsets of subscribed topics.
func (g *Group) computeSubscribed() map[string]bool {
	if g.protocolType != ConsumerProtocolType {
		return nil
	}
	topics := map[string]bool{}
	if len(g.members) == 0 {
		return topics
	}
	if g.protocol == "" {
		return nil
	}
	for _, id := range g.order {
		var meta kmsg.ConsumerMemberMetadata
		if err := meta.ReadFrom(g.members[id].metadata(g.protocol)); err != nil {
			return nil
		}
		for _, t := range meta.Topics {
			topics[t] = true
		}
	}
	return topics
}

// joinMembers is every member with its metadata for the chosen protocol,
// for the leader's JoinGroup response.
func (g *Group) joinMembers() []JoinMember {
	out := make([]JoinMember, 0, len(g.order))
	for _, id := range g.order {
		m := g.members[id]
		out = append(out, JoinMember{MemberID: m.id, InstanceID: m.instanceID, Metadata: m.metadata(g.protocol)})
	}
	return out
}

// joinResult is the current generation as member id sees it.
func (g *Group) joinResult(id string, withMembers bool) JoinResult {
	r := JoinResult{
		MemberID:     id,
		Generation:   g.generation,
		ProtocolType: optional(g.protocolType),
		Protocol:     optional(g.protocol),
		Leader:       g.leader,
	}
	if withMembers {
		r.Members = g.joinMembers()
	}
	return r
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// scheduleHeartbeat restarts a member's session.
func (g *Group) scheduleHeartbeat(m *member) {
	g.scheduleHeartbeatIn(m, time.Duration(m.sessionTimeoutMs)*time.Millisecond)
}

func (g *Group) scheduleHeartbeatIn(m *member, d time.Duration) {
	m.heartbeatAt = g.now.Add(d)
}
