# Ten connections into one state is the limit, not past it; a state of
# another kind may share a name; North American numbers may be typed mobile.
number "main" {
  e164 = "+16505550111"
  type = "mobile"
}

flow "menu" {
  numbers = [number.main]
  start   = ivr.menu
  ivr "menu" {
    say = "Press any key."
    key "0" { next = announce.menu }
    key "1" { next = announce.menu }
    key "2" { next = announce.menu }
    key "3" { next = announce.menu }
    key "4" { next = announce.menu }
    key "5" { next = announce.menu }
    key "6" { next = announce.menu }
    key "7" { next = announce.menu }
    key "8" { next = announce.menu }
    key "9" { next = announce.menu }
    key "*" { next = voicemail.menu }
  }
  announce "menu" {
    say = "Thanks."
  }
  voicemail "menu" {
    max_length = 120
  }
}
