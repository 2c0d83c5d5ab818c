organization {
  sip_domain = "sip:pbx.example.com:5060" # ERROR: Invalid SIP domain
}
