package compiler

import (
	"net"
	"net/netip"
	"strconv"

	"github.com/hashicorp/hcl/v2"

	"github.com/callflow/callflow/lang"
)

// Transports a trunk may use.
var Transports = []string{"udp", "tcp"}

func (c *checker) checkTrunks() {
	seen := map[string]*lang.Trunk{}
	for _, t := range c.m.Config.Trunks {
		declareName(c, seen, "trunk", t.Name, t, t.NameRange, func(x *lang.Trunk) hcl.Range { return x.NameRange })
		if t.Address.Set {
			host, port, err := net.SplitHostPort(t.Address.Value)
			n, perr := strconv.Atoi(port)
			if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
				c.errorf(t.Address.Range, "Invalid trunk address", "%q is not host:port. Write the carrier's SIP address, such as \"sip.carrier.example:5060\" or \"203.0.113.10:5060\".", t.Address.Value)
			}
		}
		c.checkEnum(t.Transport, "transport", Transports...)
		if len(t.InboundFrom) == 0 && t.InboundFromRange.Filename != "" {
			c.errorf(t.InboundFromRange, "No inbound networks", "inbound_from must list the networks your carrier delivers calls from; with none, the trunk can receive no calls.")
		}
		for _, s := range t.InboundFrom {
			prefix, err := ParseNetwork(s.Value)
			switch {
			case err != nil:
				c.errorf(s.Range, "Invalid network", "%q is not a network: write a CIDR such as \"203.0.113.0/24\", or one address.", s.Value)
			case prefix.Bits() == 0:
				c.errorf(s.Range, "Trunk open to every address", "%s lets anyone on the internet deliver calls and run up charges. List your carrier's own networks; its documentation gives them.", s.Value)
			}
		}
	}
}

// ParseNetwork reads a CIDR, or a single address as a one-address prefix.
func ParseNetwork(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
