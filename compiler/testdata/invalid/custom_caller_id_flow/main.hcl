organization {
  support_number = number.support
}

number "support" { # WARNING: Number is not used by any flow
  e164 = "+18005550199"
  type = "toll_free"
}

number "main" {
  e164 = "+14155550100"
  type = "local"
}

number "private" {
  e164 = "+14155550111"
  type = "local"
}

number "hidden" {
  e164 = "+14155550122"
  type = "local"
}

user "alice" {
  allow_outgoing         = true
  caller_id              = number.main
  allow_custom_caller_id = true
  custom_caller_id       = number.private # ERROR: Custom caller ID is answered by a flow
}

user "bob" {
  allow_outgoing         = true
  caller_id              = number.main
  allow_custom_caller_id = true
  custom_caller_id       = number.hidden # ERROR: Callbacks to the custom caller ID would be rejected
}

flow "sales" {
  numbers = [number.main, number.private]
  start   = announce.hello
  announce "hello" {
    say = "Hello."
  }
}
