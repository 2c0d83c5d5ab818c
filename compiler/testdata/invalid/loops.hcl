number "main" {
  e164 = "+14155550100"
  type = "local"
}

number "other" {
  e164 = "+14155550101"
  type = "local"
}

flow "support" {
  numbers = [number.main]
  start   = announce.a
  announce "a" {
    say  = "A."
    next = ivr.b
  }
  ivr "b" {
    say = "Press 1."
    key "1" { next = announce.c }
    on_timeout = announce.a # ERROR: Loop in flow
  }
  announce "c" {
    say  = "C."
    next = announce.c # ERROR: Loop in flow
  }
}

flow "sales" {
  numbers = [number.other]
  start   = announce.x
  announce "x" {
    say  = "X."
    next = announce.y
  }
  announce "y" {
    say  = "Y."
    next = announce.x # ERROR: Loop in flow
  }
}
