package quorum

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Voter is one member of the controller quorum, named as KRaft's
// controller.quorum.voters names it: id@host:port, the address being where
// the node listens for Raft traffic.
type Voter struct {
	ID   int32
	Addr string
}

func (v Voter) String() string { return strconv.Itoa(int(v.ID)) + "@" + v.Addr }

// ParseVoters parses a voter list, "1@127.0.0.1:19093,2@127.0.0.1:19094".
// Ids and addresses must be unique.
func ParseVoters(s string) ([]Voter, error) {
	var out []Voter
	ids, addrs := map[int32]bool{}, map[string]bool{}
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		idStr, addr, ok := strings.Cut(entry, "@")
		if !ok {
			return nil, fmt.Errorf("quorum voter %q: want id@host:port", entry)
		}
		id, err := strconv.ParseInt(idStr, 10, 32)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("quorum voter %q: the id must be a non-negative integer", entry)
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" {
			return nil, fmt.Errorf("quorum voter %q: want id@host:port", entry)
		}
		if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
			return nil, fmt.Errorf("quorum voter %q: bad port", entry)
		}
		if ids[int32(id)] {
			return nil, fmt.Errorf("quorum voter %q: id %d listed twice", entry, id)
		}
		if addrs[addr] {
			return nil, fmt.Errorf("quorum voter %q: address %s listed twice", entry, addr)
		}
		ids[int32(id)], addrs[addr] = true, true
		out = append(out, Voter{ID: int32(id), Addr: addr})
	}
	return out, nil
}
