trunk "carrier" {
  address      = "sip.carrier.example:5060"
  inbound_from = ["203.0.113.0/24", "198.51.100.7", "2001:db8::/32"]
}

trunk "broken" {
  address      = "no-port" # ERROR: Invalid trunk address
  inbound_from = [
    "0.0.0.0/0",  # ERROR: Trunk open to every address
    "10.0.0.300", # ERROR: Invalid network
  ]
  transport = "sctp" # ERROR: Invalid transport
}

trunk "none" {
  address      = "203.0.113.9:5060"
  inbound_from = [] # ERROR: No inbound networks
}

trunk "carrier" { # ERROR: Duplicate trunk name
  address      = "203.0.113.10:5060"
  inbound_from = ["203.0.113.10"]
}
