number "main" {
  e164 = "+14155550100"
  type = "local"
}

flow "support" {
  numbers = [number.main]
  start   = announce.welcom # ERROR: Reference to undeclared state
  announce "welcome" {
    say = "Hello."
  }
}

flow "sales" {
  numbers = [number.main] # ERROR: Number used by two flows
  start   = user.alice    # ERROR: Not a state
  announce "welcome" {
    say = "Hello."
  }
}
