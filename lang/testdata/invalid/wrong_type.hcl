number "main" {
  e164 = "+14155550100"
  type = ["local"] # ERROR: Incorrect value type
}

user "alice" {
  allow_outgoing = "maybe" # ERROR: Incorrect value type
}
