package devenv

import (
	"fmt"
	"net"
	"time"
)

// answers reports whether something accepts TCP connections on addr.
func answers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// checkFree fails if any of addrs is already taken by a process we did not
// start, naming the port and the fix.
func checkFree(service string, addrs ...string) error {
	for _, a := range addrs {
		if answers(a) {
			_, port, _ := net.SplitHostPort(a)
			return fmt.Errorf("%s: port %s is taken by a process not started by cassandraorm dev: stop it (find it with `ss -ltnp 'sport = :%s'`) and run dev up again", service, a, port)
		}
	}
	return nil
}
