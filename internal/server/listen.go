package server

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// Listen opens the TCP listener for server.addr and explains the failures an operator meets on a first
// start: a port another process holds, a privileged port, an address this machine does not have.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("cannot listen on %s: the port is already in use by another process (perhaps another umm); "+
			"stop it or choose another address with server.addr (UMM_SERVER_ADDR), for example localhost:8081", addr)
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("cannot listen on %s: permission denied (ports below 1024 need privileges); "+
			"choose another address with server.addr (UMM_SERVER_ADDR), for example localhost:8080", addr)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return nil, fmt.Errorf("cannot listen on %s: this machine has no such address; "+
			"set server.addr (UMM_SERVER_ADDR) to one of its addresses, or 0.0.0.0:PORT for all", addr)
	}
	return nil, fmt.Errorf("cannot listen on %s (server.addr): %w", addr, err)
}
