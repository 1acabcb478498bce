package controller

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/metadata"
)

// fakePreparer refuses changes that add a topic named refuse, and records
// what it was asked.
type fakePreparer struct {
	refuse    string
	prepared  []*metadata.Image
	abandoned []*metadata.Image
}

var errCannotOpen = errors.New("cannot open")

func (p *fakePreparer) Prepare(prev, next *metadata.Image) error {
	if _, ok := next.Topics[p.refuse]; ok {
		if _, had := prev.Topics[p.refuse]; !had {
			return errCannotOpen
		}
	}
	p.prepared = append(p.prepared, next)
	return nil
}

func (p *fakePreparer) Abandon(current *metadata.Image) { p.abandoned = append(p.abandoned, current) }

func TestPreparerRefusesAChangeBeforeItIsWritten(t *testing.T) {
	m := fs.NewMem()
	require.NoError(t, m.MkdirAll("/data", 0o755))
	c := open(t, m)
	require.NoError(t, c.RegisterBroker(metadata.BrokerRecord{NodeID: 0, Host: "127.0.0.1", Port: 9092}))
	p := &fakePreparer{refuse: "doomed"}
	c.SetPreparer(p)
	var told []*metadata.Image
	c.Subscribe(func(_, next *metadata.Image) { told = append(told, next) })

	_, err := c.CreateTopic(CreateTopic{Name: "doomed", NumPartitions: 2, ReplicationFactor: 1}, defaults, false)
	require.ErrorIs(t, err, errCannotOpen)
	assert.NotContains(t, c.Image().Topics, "doomed")
	assert.Len(t, told, 1, "listeners heard of nothing but the subscription")

	_, err = c.CreateTopic(CreateTopic{Name: "fine", NumPartitions: 2, ReplicationFactor: 1}, defaults, false)
	require.NoError(t, err)
	require.Len(t, p.prepared, 1)
	assert.Contains(t, p.prepared[0].Topics, "fine", "the preparer saw the image the change makes")
	assert.Empty(t, p.abandoned)

	// The refused topic never reached the record log.
	require.NoError(t, c.Close())
	c2 := open(t, m)
	assert.NotContains(t, c2.Image().Topics, "doomed")
	assert.Contains(t, c2.Image().Topics, "fine")
}

func TestPreparedChangeThatCannotBeWrittenIsAbandoned(t *testing.T) {
	m := fs.NewMem()
	require.NoError(t, m.MkdirAll("/data", 0o755))
	c := open(t, m)
	require.NoError(t, c.RegisterBroker(metadata.BrokerRecord{NodeID: 0, Host: "127.0.0.1", Port: 9092}))
	p := &fakePreparer{}
	c.SetPreparer(p)
	m.FailSync(errors.New("EIO"))
	_, err := c.CreateTopic(CreateTopic{Name: "t", NumPartitions: 1, ReplicationFactor: 1}, defaults, false)
	require.Error(t, err)
	require.Len(t, p.prepared, 1)
	require.Len(t, p.abandoned, 1)
	assert.NotContains(t, p.abandoned[0].Topics, "t", "told the image as it stays")
}
