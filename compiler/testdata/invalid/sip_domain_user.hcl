organization {
  sip_domain = "alice@pbx.example.com" # ERROR: Invalid SIP domain
}
