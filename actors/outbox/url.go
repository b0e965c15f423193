package outbox

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// MaxURLLen bounds an endpoint URL.
const MaxURLLen = 2048

// URL policy errors.
var (
	ErrURL              = errors.New("outbox: endpoint url refused")
	ErrAddressNotPublic = errors.New("outbox: connection to a non-public address refused")
)

// CheckURL is the URL policy an API applies when an endpoint is created or
// changed: an absolute https URL (http too when allowInsecure) with a host
// and no userinfo, at most MaxURLLen bytes; unless allowInsecure, a host
// that is an IP literal must be public and "localhost" is refused. Names
// are checked again on every connection (the dialer refuses non-public
// connected addresses), since DNS may change.
func CheckURL(raw string, allowInsecure bool) error {
	if len(raw) > MaxURLLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrURL, MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrURL, err)
	}
	switch {
	case u.Scheme != "https" && !(allowInsecure && u.Scheme == "http"):
		return fmt.Errorf("%w: scheme %q (https only)", ErrURL, u.Scheme)
	case u.User != nil:
		return fmt.Errorf("%w: userinfo not allowed", ErrURL)
	case u.Hostname() == "" || u.Opaque != "":
		return fmt.Errorf("%w: no host", ErrURL)
	}
	if allowInsecure {
		return nil
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return fmt.Errorf("%w: %s is not public", ErrURL, host)
	}
	if ip, err := netip.ParseAddr(host); err == nil && !Public(ip) {
		return fmt.Errorf("%w: %s is not public", ErrURL, ip)
	}
	return nil
}

// nonPublic are ranges Public refuses beyond the netip predicates:
// "this network", CGNAT, IETF protocol assignments, benchmarking,
// reserved, documentation and NAT64 (which may embed a private IPv4).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// Public reports whether ip is a public unicast address: not loopback,
// private, link-local, unspecified, multicast, CGNAT or another reserved
// range (IPv4-mapped IPv6 is judged as its IPv4).
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// dialControl refuses a connection to a non-public address: it runs on
// the address being connected, after name resolution, so a name that
// resolves (or rebinds) to a private address is refused too.
func dialControl(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrAddressNotPublic, address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !Public(ip) {
		return fmt.Errorf("%w: %s", ErrAddressNotPublic, host)
	}
	return nil
}
