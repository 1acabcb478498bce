package handler

import (
	"context"

	"github.com/ordo-broker/ordo/broker/wire"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeCluster: v0-1 (KIP-700)
//
// Behaviour: the cluster id, the controller (a live broker, as in Metadata)
// and every live broker.
//
// Version notes:
//   - v0: flexible from the start
//   - v1: EndpointType (1 = brokers; 2 = controllers is not served)
func init() { register(kmsg.DescribeCluster, 0, 1, (*Handlers).describeCluster) }

func (h *Handlers) describeCluster(_ context.Context, req *wire.Request) wire.Reply {
	r := req.Body.(*kmsg.DescribeClusterRequest)
	resp := r.ResponseKind().(*kmsg.DescribeClusterResponse)
	if r.Version >= 1 && r.EndpointType != 1 {
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
		msg := "only broker endpoints (type 1) are served"
		resp.ErrorMessage = &msg
		return ready(resp)
	}
	im := h.Controller.Image()
	resp.ClusterID = im.ClusterID
	resp.ControllerID = h.NodeID
	resp.EndpointType = 1
	for _, id := range im.BrokerIDs() {
		b := im.Brokers[id]
		rb := kmsg.NewDescribeClusterResponseBroker()
		rb.NodeID, rb.Host, rb.Port = b.NodeID, b.Host, b.Port
		if b.Rack != "" {
			rb.Rack = &b.Rack
		}
		resp.Brokers = append(resp.Brokers, rb)
	}
	return ready(resp)
}
