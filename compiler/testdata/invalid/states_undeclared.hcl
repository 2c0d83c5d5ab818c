number "main" {
  e164 = "+14155550100"
  type = "local"
}

user "alice" {
}

flow "support" {
  numbers = [number.main]
  start   = ivr.menu
  ivr "menu" {
    say = "Press 1 or 2."
    key "1" { next = announce.mian }    # ERROR: Reference to undeclared state
    key "2" { next = voicemail.main }   # ERROR: Reference to undeclared state
    key "3" { next = user.alice }       # ERROR: Not a state
    on_timeout = announce.main
  }
  announce "main" {
    say = "Hello."
  }
}
