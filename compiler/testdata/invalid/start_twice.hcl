number "main" {
  e164 = "+14155550100"
  type = "local"
}

flow "support" {
  numbers = [number.main]
  start   = announce.welcome
  start   = announce.goodbye # ERROR: Attribute redefined
  announce "welcome" {
    say  = "Hello."
    next = announce.goodbye
  }
  announce "goodbye" {
    say = "Goodbye."
  }
}
