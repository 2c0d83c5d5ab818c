number "main" {
  e164 = "+14155550100"
  type = "local"
}

flow "support" {
  numbers = [number.main]
  start   = ivr.menu
  ivr "menu" {
    say = "Press any key."
    key "0" { next = announce.a }
    key "1" { next = announce.a }
    key "2" { next = announce.a }
    key "3" { next = announce.a }
    key "4" { next = announce.a }
    key "5" { next = announce.b }
    key "6" { next = announce.b }
    key "7" { next = announce.b }
    key "8" { next = announce.b }
    key "9" { next = announce.b }
    key "*" { next = announce.b }
    key "5" { next = announce.b } # ERROR: Too many IVR keys # ERROR: Duplicate IVR key
  }
  announce "a" {
    say = "A."
  }
  announce "b" {
    say = "B."
  }
}
