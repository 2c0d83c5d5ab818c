organization {
  sip_domain = "pbx.example.com:5060" # ERROR: Invalid SIP domain
}
