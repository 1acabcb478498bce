// Package handler holds one file per Kafka API key, named by key as in
// franz-go's kfake (00_produce.go, 01_fetch.go, ...). Each file's header
// comment lists the versions served and what each version changes, and its
// init registers that range, so ApiVersions is built from the handlers that
// exist and nothing else. A handler validates a request, translates it into
// calls on the partitions, the controller or (later) the group coordinator,
// and builds the response from kmsg types.
package handler

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ordo-broker/ordo/broker/clock"
	"github.com/ordo-broker/ordo/broker/controller"
	"github.com/ordo-broker/ordo/broker/group"
	"github.com/ordo-broker/ordo/broker/partition"
	"github.com/ordo-broker/ordo/broker/producerid"
	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Deps is what handlers work with.
type Deps struct {
	NodeID     int32
	Controller *controller.Controller
	Partitions *partition.Manager
	// Groups is the group coordinator (FindCoordinator, JoinGroup, ...,
	// OffsetCommit, OffsetFetch).
	Groups *group.Coordinator
	// ProducerIDs hands out producer ids and epochs (InitProducerId).
	ProducerIDs *producerid.Manager
	// AutoCreateTopics is auto.create.topics.enable.
	AutoCreateTopics bool
	// Defaults are num.partitions and default.replication.factor.
	Defaults controller.Defaults
	// BrokerConfigs are the broker's static configs, for DescribeConfigs
	// on a BROKER resource.
	BrokerConfigs map[string]string
	// Clock is the broker's clock (long-poll deadlines, LogAppendTime);
	// nil means the wall clock.
	Clock  clock.Clock
	Logger *slog.Logger
}

// Handlers serves every registered API key. It implements wire.Handler.
type Handlers struct {
	Deps
}

// New returns the handlers over d.
func New(d Deps) *Handlers {
	d.Clock = clock.OrReal(d.Clock)
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Handlers{Deps: d}
}

type handleFunc func(h *Handlers, ctx context.Context, req *wire.Request) wire.Reply

type entry struct {
	min, max int16
	fn       handleFunc
}

// registry is indexed by API key; fn is nil for keys not served.
var registry [128]entry

// register is called from each handler file's init.
func register(key kmsg.Key, min, max int16, fn handleFunc) {
	if registry[key].fn != nil {
		panic(fmt.Sprintf("handler: key %d registered twice", key))
	}
	registry[key] = entry{min, max, fn}
}

// VersionRange implements wire.Handler.
func (h *Handlers) VersionRange(key int16) (min, max int16, ok bool) {
	if key < 0 || int(key) >= len(registry) || registry[key].fn == nil {
		return 0, 0, false
	}
	e := registry[key]
	return e.min, e.max, true
}

// Handle implements wire.Handler. wire has already checked the version.
func (h *Handlers) Handle(ctx context.Context, req *wire.Request) wire.Reply {
	e := registry[req.Key]
	return e.fn(h, ctx, req)
}

// ready is a response available now.
func ready(resp kmsg.Response) wire.Reply { return wire.Ready(resp, nil) }
