package registry_test

import (
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// proxy is a TCP proxy in front of the Cassandra node that can hold every byte in
// both directions (Hold) and let them through again (Release): a network partition
// between a process and the cluster, with the real driver and node on either side.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cond  *sync.Cond
	held  bool
	conns []net.Conn
}

// newProxy listens on a free local port and forwards to target; t's cleanup
// closes it.
func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.cond = sync.NewCond(&p.mu)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

// pipe copies src to dst, holding each chunk while the proxy is held.
func (p *proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.held {
				p.cond.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				_ = src.Close()
			}
			return
		}
	}
}

// accepted returns how many connections the proxy has taken.
func (p *proxy) accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns) / 2
}

// Hold stops the traffic; Release lets it flow again, held bytes first.
func (p *proxy) Hold()    { p.set(true) }
func (p *proxy) Release() { p.set(false) }

func (p *proxy) set(held bool) {
	p.mu.Lock()
	p.held = held
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *proxy) close() {
	_ = p.ln.Close()
	p.Release()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
}

// translator sends the driver to the proxy whatever address the node gives for
// itself.
func (p *proxy) translator() gocql.AddressTranslator {
	host, port, _ := net.SplitHostPort(p.ln.Addr().String())
	n, _ := strconv.Atoi(port)
	ip := net.ParseIP(host)
	return gocql.AddressTranslatorFunc(func(net.IP, int) (net.IP, int) { return ip, n })
}
