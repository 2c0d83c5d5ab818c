organization {
  name = "Acme"
}

number "main" {
  e164 = "+14155550100"
  type = "local"
}

user "alice" {
  allow_outgoing = true # ERROR: Outgoing calls need a caller ID
}

user "bob" {
  record_outgoing = true # WARNING: Recording outgoing calls has no effect
}

user "carol" {
  allow_outgoing         = true
  caller_id              = number.main
  allow_custom_caller_id = true # ERROR: Custom caller ID needs a support number
}

user "dave" {
  caller_id = user.alice # ERROR: Not a number
}

user "erin" {
  caller_id = number.mian # ERROR: Reference to undeclared number
}

user "9lives" { # ERROR: Invalid name
}

flow "support" {
  numbers = [number.main]
  start   = transfer_user.a
  transfer_user "a" {
    user = user.alicee # ERROR: Reference to undeclared user
  }
}
