number "main" {
  e164 = "+14155550100"
  type = "local"
}

flow "support" { # ERROR: Flow has no start connection
  numbers = [number.main]
  announce "welcome" {
    say = "Hello."
  }
}
