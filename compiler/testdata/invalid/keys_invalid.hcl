number "main" {
  e164 = "+14155550100"
  type = "local"
}

flow "support" {
  numbers = [number.main]
  start   = ivr.menu
  ivr "menu" {
    say = "Press a key."
    key "#" { next = announce.a }  # ERROR: Invalid IVR key
    key "10" { next = announce.a } # ERROR: Invalid IVR key
    key "1" { next = announce.a }
    key "1" { next = announce.b }  # ERROR: Duplicate IVR key
  }
  announce "a" {
    say = "A."
    next = announce.b
    key "2" { next = announce.b }  # ERROR: Keys belong to IVR states
  }
  announce "b" {
    say = "B."
  }
}
