# The numbers Acme owns (S13). Each one is answered by exactly one flow.

number "support" {
  e164        = "+18005550199"
  type        = "toll_free"
  description = "Customer support, printed on every invoice"
}

number "sales" {
  e164        = "+14155550100"
  type        = "local"
  region      = "San Francisco, CA"
  description = "Sales line for the Bay Area"
}

number "executive" {
  e164        = "+16505550111"
  type        = "mobile"
  region      = "Palo Alto, CA"
  description = "The CEO's office line, also the outbound caller ID for sales"
}
