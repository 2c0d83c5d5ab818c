number "main" {
  e164 = "+14155550100"
  type = "local"
}

flow "support" {
  numbers = [number.main]
  start   = announce.a
  announce "a" {
    say = "A."
  }
  announce "orphan" { # WARNING: Unreachable state
    say  = "Nobody hears this."
    next = announce.also_orphan
  }
  announce "also_orphan" { # WARNING: Unreachable state
    say = "Nor this."
  }
}
