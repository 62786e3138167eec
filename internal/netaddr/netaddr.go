// Package netaddr holds the network-address rules that the window, the
// command line, the verification API and the mail sender share: the
// default listen address of the verification API and what counts as "this
// computer" (a loopback address).
package netaddr

import (
	"net"
	"net/netip"
	"strings"
)

// DefaultListen is where the verification API listens unless told
// otherwise: loopback only, port 8765.
const DefaultListen = "127.0.0.1:8765"

// IsLoopbackHost reports whether host names this computer without asking
// DNS: "localhost" or a loopback IP literal (127.0.0.0/8, ::1, optionally
// in brackets). Any other name, including one ending in ".localhost", is
// not loopback, because a resolver could answer it with any address.
func IsLoopbackHost(host string) bool {
	h := host
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.Zone() == "" && ip.Unmap().IsLoopback()
}

// IsLoopbackAddr reports whether a connected or bound address (such as
// net.Conn.RemoteAddr) is a loopback IP address.
func IsLoopbackAddr(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UDPAddr:
		return a.IP.IsLoopback()
	case *net.IPAddr:
		return a.IP.IsLoopback()
	}
	if a == nil {
		return false
	}
	ap, err := netip.ParseAddrPort(a.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}
