package netaddr

import (
	"net"
	"testing"
)

func TestIsLoopbackHost(t *testing.T) {
	tests := map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true, "[::1]": true,
		"::ffff:127.0.0.1": true,
		// Names a resolver answers: never loopback by name alone.
		"evil.localhost": false, "localhost.": false, "localhost.example.com": false, "mail.localhost": false,
		"": false, "0.0.0.0": false, "::": false, "192.0.2.1": false, "fe80::1%lo": false, "[127.0.0.1": false,
	}
	for host, want := range tests {
		if got := IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestIsLoopbackAddr(t *testing.T) {
	tests := []struct {
		a    net.Addr
		want bool
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25}, true},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 25}, true},
		{&net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 25}, false},
		{&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, true},
		{&net.UnixAddr{Name: "/tmp/x", Net: "unix"}, false},
		{nil, false},
	}
	for _, tc := range tests {
		if got := IsLoopbackAddr(tc.a); got != tc.want {
			t.Errorf("IsLoopbackAddr(%v) = %v, want %v", tc.a, got, tc.want)
		}
	}
}
