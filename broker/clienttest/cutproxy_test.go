package clienttest

import (
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// cutProxy is a loopback TCP proxy between Kafka clients and a broker that
// loses answers: now and then it forwards a produce request, waits for the
// broker's response to it, and then closes the client's connection instead
// of passing the response on. The broker handled the request; the client
// never heard, and must retry. It understands just enough of the protocol
// for that: size-prefixed frames, the API key and correlation id of a
// request, the correlation id of a response.
type cutProxy struct {
	ln     net.Listener
	target atomic.Pointer[string]

	mu      sync.Mutex
	rng     *rand.Rand
	cutProb float64
	seen    int // produce requests seen

	cuts atomic.Int64
	wg   sync.WaitGroup
}

// startCutProxy listens on loopback at once (so the broker can advertise
// its address); connections are forwarded once setTarget names the broker.
// Each produce request is cut with probability cutProb, drawn from seed,
// and the second one always is, so every run cuts at least once.
func startCutProxy(t *testing.T, seed uint64, cutProb float64) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &cutProxy{ln: ln, rng: rand.New(rand.NewPCG(seed, seed)), cutProb: cutProb}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) addr() string            { return p.ln.Addr().String() }
func (p *cutProxy) setTarget(broker string) { p.target.Store(&broker) }

func (p *cutProxy) accept() {
	defer p.wg.Done()
	var conns sync.WaitGroup
	defer conns.Wait()
	var open sync.Map // net.Conn → struct{}: closed when the proxy stops
	for {
		client, err := p.ln.Accept()
		if err != nil {
			open.Range(func(c, _ any) bool { _ = c.(net.Conn).Close(); return true })
			return
		}
		target := p.target.Load()
		if target == nil {
			_ = client.Close()
			continue
		}
		broker, err := net.Dial("tcp", *target)
		if err != nil {
			_ = client.Close()
			continue
		}
		open.Store(client, struct{}{})
		open.Store(broker, struct{}{})
		conns.Add(1)
		go func() {
			defer conns.Done()
			p.serve(client, broker)
			open.Delete(client)
			open.Delete(broker)
		}()
	}
}

// serve forwards one connection until either side closes or a cut.
func (p *cutProxy) serve(client, broker net.Conn) {
	defer client.Close()
	defer broker.Close()
	var doomed sync.Map // correlation ids whose responses are never delivered
	done := make(chan struct{})
	go func() { // client → broker
		defer close(done)
		for {
			frame, err := readFrame(client)
			if err != nil {
				_ = broker.Close()
				return
			}
			// After the size: api key int16, version int16, correlation id int32.
			if len(frame) >= 12 && int16(binary.BigEndian.Uint16(frame[4:])) == 0 && p.cut() {
				doomed.Store(int32(binary.BigEndian.Uint32(frame[8:])), true)
			}
			if _, err := broker.Write(frame); err != nil {
				_ = client.Close()
				return
			}
		}
	}()
	for { // broker → client
		frame, err := readFrame(broker)
		if err != nil {
			break
		}
		if len(frame) >= 8 { // after the size: correlation id int32
			if _, cut := doomed.Load(int32(binary.BigEndian.Uint32(frame[4:]))); cut {
				p.cuts.Add(1)
				break // the broker answered; the client never hears it
			}
		}
		if _, err := client.Write(frame); err != nil {
			break
		}
	}
	_ = client.Close()
	_ = broker.Close()
	<-done
}

// cut decides whether the next produce request is cut.
func (p *cutProxy) cut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen++
	return p.seen == 2 || p.rng.Float64() < p.cutProb
}

// readFrame reads one size-prefixed frame and returns it with its prefix.
func readFrame(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > 64<<20 {
		return nil, errors.New("proxy: frame too large")
	}
	frame := make([]byte, 4+n)
	copy(frame, size[:])
	_, err := io.ReadFull(r, frame[4:])
	return frame, err
}
