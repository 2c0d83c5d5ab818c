# Acme's SIP trunk. For the quick start and the tests the "carrier" is on
# this machine: calls are delivered from loopback. In production, set the
# carrier's address and the networks its documentation lists.
trunk "carrier" {
  address      = "127.0.0.1:5080"
  inbound_from = ["127.0.0.0/8", "::1"]
  transport    = "udp"
}
