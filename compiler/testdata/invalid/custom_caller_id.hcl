organization {
  support_number = number.support
}

number "support" {
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

user "alice" {
  allow_outgoing         = true
  caller_id              = number.main
  allow_custom_caller_id = true
  custom_caller_id       = number.private
}

user "bob" {
  allow_outgoing   = true
  caller_id        = number.main
  custom_caller_id = number.private # ERROR: Custom caller ID is not allowed
}

user "carol" {
  allow_outgoing         = true
  caller_id              = number.main
  allow_custom_caller_id = true
  custom_caller_id       = number.main # ERROR: Custom caller ID is the caller ID
}

user "dave" {
  allow_outgoing         = true
  caller_id              = number.main
  allow_custom_caller_id = true
  custom_caller_id       = number.support # ERROR: Custom caller ID is the support number
}

user "erin" {
  allow_custom_caller_id = true
  custom_caller_id       = user.alice # ERROR: Not a number
}

user "frank" {
  allow_custom_caller_id = true
  custom_caller_id       = number.privat # ERROR: Reference to undeclared number
}

flow "support" {
  numbers = [number.support, number.main]
  start   = announce.hello
  announce "hello" {
    say = "Hello."
  }
}
