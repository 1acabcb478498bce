package group

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestScripts drives one Group through the scripts in testdata/*.txt. Run
// with -rewrite to regenerate their expected output after a deliberate
// change, and read the diff.
func TestScripts(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			d := &driver{t: t}
			d.reset(scriptCmd{args: map[string]string{}})
			runScript(t, path, d.run)
		})
	}
}

// t0 is the scripts' time zero; times print as milliseconds since it.
var t0 = time.UnixMilli(1_700_000_000_000)

type driver struct {
	t      *testing.T
	g      *Group
	cfg    Config
	now    time.Time
	writes map[WriteID]Write
	last   WriteID // the last write asked for
}

func (d *driver) reset(c scriptCmd) {
	d.cfg = DefaultConfig()
	d.cfg.InitialRebalanceDelay = ms(c.arg("delay", "0"))
	d.cfg.MinSessionTimeout = ms(c.arg("min-session", "1000"))
	d.cfg.MaxSessionTimeout = ms(c.arg("max-session", "600000"))
	d.cfg.NewMemberJoinTimeout = ms(c.arg("new-member-timeout", "300000"))
	d.cfg.MaxMetadataSize = atoi(c.arg("max-metadata", "4096"))
	d.now = t0
	d.g = New("g", d.cfg, d.now)
	d.writes = map[WriteID]Write{}
}

func ms(s string) time.Duration { return time.Duration(atoi(s)) * time.Millisecond }

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(fmt.Sprintf("bad number %q", s))
	}
	return n
}

func optArg(c scriptCmd, k string) *string {
	if v, ok := c.args[k]; ok {
		return &v
	}
	return nil
}

func waiter(c scriptCmd) Waiter { return Waiter(atoi(c.arg("w", "0"))) }

func (d *driver) run(c scriptCmd) string {
	var b strings.Builder
	var out Output
	switch c.name {
	case "new":
		d.reset(c)
		return d.status()
	case "join":
		out = d.g.Join(d.now, waiter(c), JoinRequest{
			Group:              "g",
			MemberID:           c.arg("member", ""),
			InstanceID:         optArg(c, "instance"),
			ProtocolType:       c.arg("type", ConsumerProtocolType),
			Protocols:          protocols(c.arg("protocols", "range:t")),
			SessionTimeoutMs:   int32(atoi(c.arg("session", "10000"))),
			RebalanceTimeoutMs: int32(atoi(c.arg("rebalance", "30000"))),
			ClientID:           c.arg("client", "client"),
			ClientHost:         "/127.0.0.1",
			Version:            int16(atoi(c.arg("v", "9"))),
		}, c.arg("new", ""))
	case "sync":
		req := SyncRequest{
			Group: "g", MemberID: c.arg("member", ""), InstanceID: optArg(c, "instance"),
			Generation: int32(atoi(c.arg("gen", "0"))), ProtocolType: optArg(c, "ptype"), Protocol: optArg(c, "protocol"),
		}
		if a, ok := c.args["assign"]; ok {
			for _, kv := range strings.Split(a, ",") {
				id, as, _ := strings.Cut(kv, ":")
				req.Assignments = append(req.Assignments, Assignment{id, []byte(as)})
			}
		}
		out = d.g.Sync(d.now, waiter(c), req)
	case "heartbeat":
		var err error
		out, err = d.g.Heartbeat(d.now, HeartbeatRequest{
			Group: "g", MemberID: c.arg("member", ""), InstanceID: optArg(c, "instance"),
			Generation: int32(atoi(c.arg("gen", "0"))),
		})
		fmt.Fprintf(&b, "heartbeat: %s\n", errName(err))
	case "leave":
		var ms []LeaveMember
		for _, s := range strings.Split(c.arg("members", ""), ",") {
			id, inst, hasInst := strings.Cut(s, "@")
			lm := LeaveMember{MemberID: id}
			if hasInst {
				lm.InstanceID = &inst
			}
			ms = append(ms, lm)
		}
		var rs []LeaveResult
		var err error
		out, rs, err = d.g.Leave(d.now, ms)
		if err != nil {
			fmt.Fprintf(&b, "leave: %s\n", errName(err))
		}
		for _, r := range rs {
			fmt.Fprintf(&b, "leave %s%s: %s\n", r.MemberID, instSuffix(r.InstanceID), errName(r.Err))
		}
	case "commit":
		req := CommitRequest{
			Group: "g", MemberID: c.arg("member", ""), InstanceID: optArg(c, "instance"),
			Generation: int32(atoi(c.arg("gen", "-1"))),
		}
		for _, s := range strings.Split(c.arg("offsets", ""), ",") {
			tp, rest, _ := strings.Cut(s, "@")
			off, meta, hasMeta := strings.Cut(rest, ":")
			co := CommitOffset{TopicPartition: parseTP(tp), Offset: int64(atoi(off)), LeaderEpoch: -1}
			if hasMeta {
				if strings.HasPrefix(meta, "x") {
					meta = strings.Repeat("x", atoi(meta[1:]))
				}
				co.Metadata = &meta
			}
			req.Offsets = append(req.Offsets, co)
		}
		out = d.g.CommitOffsets(d.now, waiter(c), req)
	case "written":
		id := d.last
		if s, ok := c.args["id"]; ok {
			id = WriteID(atoi(s))
		}
		var err error
		if e, ok := c.args["err"]; ok {
			err = errorsByName[e]
		}
		out = d.g.Written(d.now, id, int64(atoi(c.arg("base", "0"))), err)
	case "tick":
		d.now = d.now.Add(ms(c.arg("ms", "0")))
		out = d.g.Tick(d.now)
	case "advance":
		d.now = d.now.Add(ms(c.arg("ms", "0")))
	case "fetch":
		for _, o := range d.g.Offsets() {
			fmt.Fprintf(&b, "offset %s/%d=%d epoch=%d meta=%q\n", o.Topic, o.Partition, o.Offset.Offset, o.LeaderEpoch, o.Metadata)
		}
		return b.String()
	case "describe":
		desc := d.g.Describe()
		fmt.Fprintf(&b, "describe state=%s type=%q protocol=%q\n", desc.State, desc.ProtocolType, desc.Protocol)
		for _, m := range desc.Members {
			fmt.Fprintf(&b, "  member %s%s client=%s host=%s meta=%s assignment=%q\n", m.MemberID, instSuffix(m.InstanceID), m.ClientID, m.ClientHost, subscription(m.Metadata), m.Assignment)
		}
		return b.String()
	case "delete":
		out = d.g.Delete(d.now, waiter(c))
	case "delete-offsets":
		var tps []TopicPartition
		for _, s := range strings.Split(c.arg("tps", ""), ",") {
			tps = append(tps, parseTP(s))
		}
		out = d.g.DeleteOffsets(d.now, waiter(c), tps)
	case "reload":
		// Replay every write so far into a fresh group, as a coordinator
		// loading the partition would, and continue with it.
		l := NewLoader(d.cfg)
		var offset int64
		for id := WriteID(1); id <= d.last; id++ {
			for _, r := range d.writes[id].Records {
				if err := l.Replay(offset, r.Key, r.Value); err != nil {
					d.t.Fatalf("replay: %v", err)
				}
				offset++
			}
		}
		g := l.Groups()["g"]
		if g == nil {
			g = New("g", d.cfg, d.now)
		}
		g.Loaded(d.now)
		g.nextWrite = d.last
		d.g = g
	default:
		d.t.Fatalf("unknown command %q", c.name)
	}
	d.print(&b, out)
	b.WriteString(d.status())
	return b.String()
}

func instSuffix(s *string) string {
	if s == nil {
		return ""
	}
	return "@" + *s
}

func parseTP(s string) TopicPartition {
	t, p, _ := strings.Cut(s, "/")
	return TopicPartition{t, int32(atoi(p))}
}

// protocols parses "range:t1+t2,sticky:t1": consumer protocol metadata
// subscribing to the topics.
func protocols(s string) []Protocol {
	var ps []Protocol
	for _, p := range strings.Split(s, ",") {
		name, topics, _ := strings.Cut(p, ":")
		meta := kmsg.NewConsumerMemberMetadata()
		meta.Topics = strings.Split(topics, "+")
		ps = append(ps, Protocol{name, meta.AppendTo(nil)})
	}
	return ps
}

func subscription(b []byte) string {
	if b == nil {
		return "-"
	}
	var meta kmsg.ConsumerMemberMetadata
	if err := meta.ReadFrom(b); err != nil {
		return fmt.Sprintf("%q", b)
	}
	return strings.Join(meta.Topics, "+")
}

var errorsByName = map[string]error{
	"MEMBER_ID_REQUIRED":           ErrMemberIDRequired,
	"UNKNOWN_MEMBER_ID":            ErrUnknownMemberID,
	"ILLEGAL_GENERATION":           ErrIllegalGeneration,
	"REBALANCE_IN_PROGRESS":        ErrRebalanceInProgress,
	"INCONSISTENT_GROUP_PROTOCOL":  ErrInconsistentGroupProtocol,
	"FENCED_INSTANCE_ID":           ErrFencedInstanceID,
	"INVALID_SESSION_TIMEOUT":      ErrInvalidSessionTimeout,
	"COORDINATOR_NOT_AVAILABLE":    ErrCoordinatorNotAvailable,
	"NOT_COORDINATOR":              ErrNotCoordinator,
	"GROUP_ID_NOT_FOUND":           ErrGroupIDNotFound,
	"NON_EMPTY_GROUP":              ErrNonEmptyGroup,
	"GROUP_SUBSCRIBED_TO_TOPIC":    ErrGroupSubscribedToTopic,
	"OFFSET_METADATA_TOO_LARGE":    ErrOffsetMetadataTooLarge,
	"COORDINATOR_LOAD_IN_PROGRESS": ErrCoordinatorLoadInProgress,
}

func errName(err error) string {
	if err == nil {
		return "ok"
	}
	for name, e := range errorsByName {
		if errors.Is(err, e) {
			return name
		}
	}
	return err.Error()
}

func (d *driver) at(t time.Time) string { return strconv.FormatInt(t.Sub(t0).Milliseconds(), 10) }

func (d *driver) print(b *strings.Builder, out Output) {
	for _, r := range out.Replies {
		fmt.Fprintf(b, "reply w%d: ", r.To)
		switch {
		case r.Err != nil:
			fmt.Fprintf(b, "%s\n", errName(r.Err))
		case r.Join != nil:
			j := r.Join
			fmt.Fprintf(b, "join %s member=%s", errName(j.Err), j.MemberID)
			if j.Err == nil || j.Generation != 0 {
				fmt.Fprintf(b, " gen=%d type=%s protocol=%s leader=%s", j.Generation, str(j.ProtocolType), str(j.Protocol), j.Leader)
			}
			if j.SkipAssignment {
				b.WriteString(" skip-assignment")
			}
			if j.Members != nil {
				var ms []string
				for _, m := range j.Members {
					ms = append(ms, m.MemberID+instSuffix(m.InstanceID)+"("+subscription(m.Metadata)+")")
				}
				fmt.Fprintf(b, " members=[%s]", strings.Join(ms, " "))
			}
			b.WriteString("\n")
		case r.Sync != nil:
			s := r.Sync
			fmt.Fprintf(b, "sync %s", errName(s.Err))
			if s.Err == nil {
				fmt.Fprintf(b, " type=%s protocol=%s assignment=%q", str(s.ProtocolType), str(s.Protocol), s.Assignment)
			}
			b.WriteString("\n")
		case r.Commit != nil:
			var es []string
			for _, e := range r.Commit {
				es = append(es, errName(e))
			}
			fmt.Fprintf(b, "commit [%s]\n", strings.Join(es, " "))
		case r.OffsetDelete != nil:
			var es []string
			for _, e := range r.OffsetDelete {
				es = append(es, errName(e))
			}
			fmt.Fprintf(b, "offset-delete [%s]\n", strings.Join(es, " "))
		case r.Deleted:
			b.WriteString("deleted\n")
		default:
			b.WriteString("empty reply\n")
		}
	}
	for _, w := range out.Writes {
		d.writes[w.ID] = w
		d.last = w.ID
		fmt.Fprintf(b, "write %d:\n", w.ID)
		for _, r := range w.Records {
			fmt.Fprintf(b, "  %s\n", describeRecord(r))
		}
	}
}

func str(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

func describeRecord(r Record) string {
	rec, err := DecodeRecord(r.Key, r.Value)
	if err != nil {
		return "undecodable: " + err.Error()
	}
	switch {
	case rec.Offset != nil:
		k := rec.Offset.Key
		if rec.Offset.Value == nil {
			return fmt.Sprintf("offset %s %s/%d tombstone", k.Group, k.Topic, k.Partition)
		}
		v := rec.Offset.Value
		return fmt.Sprintf("offset %s %s/%d=%d epoch=%d meta=%q v%d", k.Group, k.Topic, k.Partition, v.Offset, v.LeaderEpoch, v.Metadata, v.Version)
	case rec.Group != nil:
		if rec.Group.Value == nil {
			return fmt.Sprintf("group %s tombstone", rec.Group.Key.Group)
		}
		v := rec.Group.Value
		var ms []string
		for _, m := range v.Members {
			ms = append(ms, fmt.Sprintf("%s%s(%s session=%d rebalance=%d assignment=%q)", m.MemberID, instSuffix(m.InstanceID), subscription(m.Subscription), m.SessionTimeoutMillis, m.RebalanceTimeoutMillis, m.Assignment))
		}
		return fmt.Sprintf("group %s gen=%d type=%s protocol=%s leader=%s members=[%s] v%d", rec.Group.Key.Group, v.Generation, v.ProtocolType, str(v.Protocol), str(v.Leader), strings.Join(ms, " "), v.Version)
	}
	return "unknown record"
}

// status is one line of group state and one of its deadlines.
func (d *driver) status() string {
	g := d.g
	var b strings.Builder
	fmt.Fprintf(&b, "state: %s gen=%d", g.state, g.generation)
	if g.protocol != "" {
		fmt.Fprintf(&b, " protocol=%s", g.protocol)
	}
	if g.leader != "" {
		fmt.Fprintf(&b, " leader=%s", g.leader)
	}
	var ms []string
	for _, id := range g.order {
		m := g.members[id]
		s := id + instSuffix(m.instanceID)
		switch {
		case m.joinWaiter != 0:
			s += fmt.Sprintf("(joining:w%d)", m.joinWaiter)
		case m.syncWaiter != 0:
			s += fmt.Sprintf("(syncing:w%d)", m.syncWaiter)
		}
		ms = append(ms, s)
	}
	fmt.Fprintf(&b, " members=[%s]", strings.Join(ms, " "))
	if len(g.pending) > 0 {
		fmt.Fprintf(&b, " pending=[%s]", strings.Join(sortedKeys((g.pending)), " "))
	}
	if len(g.pendingSync) > 0 {
		fmt.Fprintf(&b, " awaiting-sync=[%s]", strings.Join(sortedKeys((g.pendingSync)), " "))
	}
	b.WriteString("\ndeadlines:")
	if !g.join.at.IsZero() {
		kind := "rebalance"
		if g.join.initial {
			kind = "initial-delay"
		}
		fmt.Fprintf(&b, " %s@%s", kind, d.at(g.join.at))
	}
	if !g.syncAt.IsZero() {
		fmt.Fprintf(&b, " sync@%s", d.at(g.syncAt))
	}
	for _, id := range sortedKeys((g.pending)) {
		fmt.Fprintf(&b, " pending:%s@%s", id, d.at(g.pending[id]))
	}
	for _, id := range g.order {
		if at := g.members[id].heartbeatAt; !at.IsZero() {
			fmt.Fprintf(&b, " session:%s@%s", id, d.at(at))
		}
	}
	fmt.Fprintf(&b, " (now=%s)\n", d.at(d.now))
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
