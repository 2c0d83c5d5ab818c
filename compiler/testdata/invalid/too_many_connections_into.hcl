number "main" {
  e164 = "+14155550100"
  type = "local"
}

flow "support" {
  numbers = [number.main]
  start   = ivr.menu
  ivr "menu" {
    say = "Press any key."
    key "0" { next = announce.bye }
    key "1" { next = announce.bye }
    key "2" { next = announce.bye }
    key "3" { next = announce.bye }
    key "4" { next = announce.bye }
    key "5" { next = announce.bye }
    key "6" { next = announce.bye }
    key "7" { next = announce.bye }
    key "8" { next = announce.bye }
    key "9" { next = announce.bye }
    key "*" { next = announce.bye } # ERROR: Too many connections into one state
  }
  announce "bye" {
    say = "Goodbye."
  }
}
