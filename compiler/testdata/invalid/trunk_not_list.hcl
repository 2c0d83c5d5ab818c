trunk "t" {
  address      = "203.0.113.9:5060"
  inbound_from = "203.0.113.0/24" # ERROR: Invalid inbound_from
}
